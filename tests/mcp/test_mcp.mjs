// SPDX-License-Identifier: GPL-2.0
// agentcg mcp against the official MCP TypeScript SDK client: `agentcg mcp`
// is spawned by the SDK's StdioClientTransport against the agentcgd that
// tests/integration/test_mcp.sh started, and what the SDK does not send
// (another protocol version, an over-long line) goes as raw lines. Prints
// TAP lines ("ok - ...", "not ok - ..."); waits for states, never for a
// time.
//
// Environment: AGENTCG_BIN (the agentcg binary), AGENTCG_SOCKET,
// MCP_SESSION (the default session, /tenant/name), T_WAIT (seconds a wait
// may take, 60 by default).
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';

const AGENTCG = process.env.AGENTCG_BIN;
const SOCKET = process.env.AGENTCG_SOCKET;
const SESSION = process.env.MCP_SESSION;
const WAIT_MS = Number(process.env.T_WAIT || 60) * 1000;
const TENANT = SESSION.split('/')[1];

let failed = 0;
function ok(cond, desc, detail) {
  if (cond) {
    console.log(`ok - ${desc}`);
  } else {
    failed++;
    console.log(`not ok - ${desc}${detail === undefined ? '' : ` (${String(detail).slice(0, 900)})`}`);
  }
  return cond;
}

// Runs one check; an exception is its failure, not the end of the test.
async function check(desc, fn) {
  try {
    await fn();
  } catch (e) {
    ok(false, desc, `exception: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Waits until fn() is true (polled every 50 ms) or WAIT_MS passed.
async function waitFor(fn) {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() > end) return false;
    await sleep(50);
  }
}

function agentcgJson(...args) {
  try {
    return JSON.parse(execFileSync(AGENTCG, ['--json', ...args], { encoding: 'utf8', timeout: WAIT_MS }));
  } catch {
    return null;
  }
}

// Sessions of the tenant whose names start with prefix.
function sessionsLike(tenant, prefix) {
  const l = agentcgJson('ls', `/${tenant}`);
  return l ? l.children.filter((c) => c.name.startsWith(prefix)).map((c) => c.path) : null;
}

function callRunning(session) {
  const l = agentcgJson('ls', session);
  return !!l && l.children.some((c) => c.state === 'running');
}

const text = (r) => (r && r.content && r.content[0] && r.content[0].text) || '';

// ---- the SDK client ------------------------------------------------------

const env = { AGENTCG_SOCKET: SOCKET, PATH: process.env.PATH };
const transport = new StdioClientTransport({
  command: AGENTCG,
  args: ['mcp', '--session', SESSION],
  env,
  stderr: 'inherit',
});
let negotiated = null;
// The SDK hands the negotiated version to transports that take it.
transport.setProtocolVersion = (v) => {
  negotiated = v;
};
const client = new Client({ name: 'agentcg-test', version: '1.0.0' });
const callOpts = { timeout: WAIT_MS * 2 };

await check('initialize through the SDK', async () => {
  await client.connect(transport);
  ok(negotiated === '2025-11-25', 'initialize negotiates protocol 2025-11-25 with the SDK', negotiated);
  const info = client.getServerVersion();
  ok(info && info.name === 'agentcg', 'serverInfo names agentcg', JSON.stringify(info));
  ok(!!(client.getServerCapabilities() || {}).tools, 'the server declares the tools capability');
  ok(/cgroup/.test(client.getInstructions() || ''), 'the instructions say what the server does');
});

await check('ping', async () => {
  const r = await client.ping();
  ok(r && typeof r === 'object', 'ping is answered', JSON.stringify(r));
});

const INTENT = ['memory', 'memory_max', 'memory_hint', 'cpu', 'pids', 'timeout', 'cpu_time', 'forks', 'priority', 'label'];
await check('tools/list', async () => {
  const { tools } = await client.listTools();
  const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
  const want = ['run_command', 'session_create', 'python_exec', 'bash_exec', 'session_get', 'session_set',
    'session_interrupt', 'session_reset', 'session_close'];
  ok(want.every((n) => byName[n]) && tools.length === want.length, `tools/list lists ${want.join(', ')}`,
    tools.map((t) => t.name).join(','));
  for (const n of ['run_command', 'python_exec', 'bash_exec']) {
    const props = byName[n].inputSchema.properties;
    const missing = INTENT.filter((k) => !props[k] || !(props[k].description || '').length);
    ok(missing.length === 0, `${n}'s input schema has the intent fields, each described`, missing.join(','));
    ok(byName[n].inputSchema.additionalProperties === false, `${n} takes no unknown arguments`);
    const os = byName[n].outputSchema;
    ok(os && os.properties.verdict && os.properties.usage && os.properties.stdout,
      `${n} has an output schema: verdict, usage, stdout`);
  }
  const mem = byName.run_command.inputSchema.properties.memory.description;
  ok(/512M/.test(mem) && /throttle/.test(mem), 'memory says its format (e.g. "512M") and what happens above it', mem);
  ok(/OOM/.test(byName.run_command.inputSchema.properties.memory_max.description),
    'memory_max says that the OOM killer acts at it');
  ok(!!byName.run_command.inputSchema.properties.retry && !byName.python_exec.inputSchema.properties.retry,
    'retry is offered for commands, not for cells');
  ok(byName.python_exec.inputSchema.required.includes('code'), 'python_exec requires code');
  ok(byName.session_close.inputSchema.required.includes('session'), 'session_close requires session');
});

await check('a command within its intent', async () => {
  const r = await client.callTool({ name: 'run_command', arguments: { command: 'echo hello from mcp', memory: '64M' } },
    undefined, callOpts);
  const sc = r.structuredContent || {};
  ok(r.isError === false && sc.verdict && sc.verdict.status === 'ok', 'run_command: verdict ok, not a tool error',
    JSON.stringify(sc.verdict));
  ok(sc.stdout === 'hello from mcp\n' && /hello from mcp/.test(text(r)), 'its stdout is in structuredContent and in the text');
  ok(sc.path && sc.path.startsWith(`${SESSION}/call-`), `it ran in the default session ${SESSION}`, sc.path);
  ok(sc.exit && sc.exit.code === 0 && sc.intent && sc.intent.memory === '64M', 'exit code 0, the intent as declared',
    JSON.stringify(sc.intent));
});

await check('output with NUL bytes', async () => {
  const r = await client.callTool({ name: 'run_command', arguments: { argv: ['printf', 'a\\0b'] } }, undefined, callOpts);
  ok(r.isError === false && (r.structuredContent || {}).stdout === 'a\u0000b',
    'output with a NUL byte comes through (agentcgd sends it as \\u0000)', JSON.stringify(r.content));
});

await check('a command over its memory', async () => {
  const r = await client.callTool({
    name: 'run_command',
    arguments: { argv: ['python3', '-c', "b = b'x' * (256 << 20)"], memory_max: '64M', label: 'mcp-oom' },
  }, undefined, callOpts);
  const sc = r.structuredContent || {};
  const v = sc.verdict || {};
  const hit = (v.exceeded || []).find((e) => e.resource === 'memory_max');
  ok(r.isError === true, 'a call over memory_max is a tool error (isError)', JSON.stringify(v));
  ok(v.status === 'exceeded' && hit && hit.action === 'killed' && hit.limit === 64 << 20,
    'structuredContent.verdict: exceeded memory_max 64M, killed', JSON.stringify(v.exceeded));
  ok(/^killed: /.test(text(r)) && /raise memory_max above 64M/.test(text(r)),
    'the text leads with "killed" and says to raise memory_max', text(r));
  ok(typeof (sc.usage || {}).memory_peak === 'number' && !('processes' in sc),
    'usage.memory_peak is there; the per-process list is not');
});

await check('a bad intent', async () => {
  const r = await client.callTool({ name: 'run_command', arguments: { command: 'true', memory: 'lots', cpu: 'x' } },
    undefined, callOpts);
  ok(r.isError === true && !r.structuredContent, 'memory "lots" is a tool error, not a protocol error', JSON.stringify(r));
  ok(/memory: "lots" is not a size/.test(text(r)) && /cpu: /.test(text(r)) && /nothing was run/.test(text(r)),
    'its text names each bad field and says nothing ran', text(r));
});

await check('an unknown tool', async () => {
  try {
    await client.callTool({ name: 'no_such_tool', arguments: {} });
    ok(false, 'an unknown tool is a JSON-RPC error -32602', 'no error');
  } catch (e) {
    ok(e instanceof McpError && e.code === -32602, 'an unknown tool is a JSON-RPC error -32602', `${e.code} ${e.message}`);
  }
});

await check('python state across calls', async () => {
  const a = await client.callTool({ name: 'python_exec', arguments: { code: 'x = 41\nimport math' } }, undefined, callOpts);
  const b = await client.callTool({ name: 'python_exec', arguments: { code: 'x + 1' } }, undefined, callOpts);
  ok(a.isError === false && b.isError === false, 'two python_exec calls succeed', text(a) + ' / ' + text(b));
  ok((b.structuredContent || {}).value === 42 && /value: 42/.test(text(b)),
    'python_exec keeps state: x set in one call is read in the next (42)', JSON.stringify(b.structuredContent));
  ok(((b.structuredContent || {}).session || {}).path === `${SESSION}-python`,
    `the interpreter is the default python session ${SESSION}-python`);
  await client.callTool({ name: 'session_set', arguments: { name: 'cfg', value: { k: [1, 2], s: 'x' } } }, undefined, callOpts);
  const g = await client.callTool({ name: 'python_exec', arguments: { code: "cfg['k'][1] * 10" } }, undefined, callOpts);
  const h = await client.callTool({ name: 'session_get', arguments: { name: 'x' } }, undefined, callOpts);
  ok((g.structuredContent || {}).value === 20 && (h.structuredContent || {}).value === 41,
    'session_set injects a value a cell reads; session_get reads one back', `${text(g)} / ${text(h)}`);
  const bad = await client.callTool({ name: 'python_exec', arguments: { code: '1/0' } }, undefined, callOpts);
  ok(bad.isError === true && (bad.structuredContent.error || {}).type === 'ZeroDivisionError' && /Traceback/.test(text(bad)),
    'an exception is a tool error with its type and traceback', text(bad));
});

await check('interrupt a running cell', async () => {
  const cell = client.callTool({ name: 'python_exec', arguments: { code: 'import time\nwhile True: time.sleep(0.05)' } },
    undefined, callOpts);
  const running = await waitFor(() => callRunning(`${SESSION}-python`));
  ok(running, 'the cell is seen running');
  const ping = await client.ping();
  ok(!!ping, 'a ping is answered while the cell runs');
  const i = await client.callTool({ name: 'session_interrupt', arguments: {} }, undefined, callOpts);
  const r = await cell;
  ok((i.structuredContent || {}).interrupted === true && (r.structuredContent || {}).interrupted === true,
    'session_interrupt stops the cell (interrupted: true), while it runs', `${text(i)} / ${JSON.stringify(r.structuredContent && r.structuredContent.error)}`);
  const after = await client.callTool({ name: 'python_exec', arguments: { code: 'x' } }, undefined, callOpts);
  ok((after.structuredContent || {}).value === 41, 'the session keeps its state after the interrupt', text(after));
});

await check('cancel a running command', async () => {
  const marker = `${process.pid}.25`;
  const ac = new AbortController();
  const call = client.callTool({ name: 'run_command', arguments: { argv: ['sleep', marker] } }, undefined,
    { signal: ac.signal, timeout: WAIT_MS * 2 });
  call.catch(() => {});
  const pgrep = () => {
    try {
      execFileSync('pgrep', ['-f', `^sleep ${marker}$`]);
      return true;
    } catch {
      return false;
    }
  };
  ok(await waitFor(pgrep), 'the command is seen running');
  ac.abort('test');
  ok(await waitFor(() => !pgrep()), 'cancelling the request (notifications/cancelled) kills the command');
});

await check('sessions by name', async () => {
  const name = `mcp-named-${process.pid}`;
  const c = await client.callTool({ name: 'session_create', arguments: { session: name, lang: 'bash', memory_max: '256M' } },
    undefined, callOpts);
  ok(c.isError === false && (c.structuredContent || {}).path === `/${TENANT}/${name}`,
    'session_create makes a bash session from a bare name, in the default tenant', text(c));
  const a = await client.callTool({ name: 'bash_exec', arguments: { session: name, code: 'N=7; cd /tmp' } }, undefined, callOpts);
  const b = await client.callTool({ name: 'bash_exec', arguments: { session: name, code: 'echo $((N * 6)) $PWD' } },
    undefined, callOpts);
  ok(a.isError === false && (b.structuredContent || {}).stdout === '42 /tmp\n', 'bash_exec keeps variables and cwd', text(b));
});

// ---- the end: what was made is closed ---------------------------------------

await check('stdin closed', async () => {
  const made = sessionsLike(TENANT, SESSION.split('/')[2]).concat(sessionsLike(TENANT, 'mcp-named-'));
  ok(made.length >= 3, 'sessions were made on demand (commands, python, bash by name)', made.join(','));
  await client.close();
  ok(await waitFor(() => {
    const left = (sessionsLike(TENANT, SESSION.split('/')[2]) || ['?']).concat(sessionsLike(TENANT, 'mcp-named-') || ['?']);
    return left.length === 0;
  }), 'when stdin closes, every session it made is closed');
});

// ---- raw lines ------------------------------------------------------------

// agentcg mcp with raw lines: send(obj|string), next() the next line.
function raw(args, extraEnv = {}) {
  const p = spawn(AGENTCG, ['mcp', ...args], { env: { ...env, ...extraEnv }, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  const waiters = [];
  createInterface({ input: p.stdout }).on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  const exited = new Promise((r) => p.on('exit', (code) => r(code)));
  p.stdin.on('error', () => {}); // a server that is gone already
  return {
    pid: p.pid,
    send: (m) => p.stdin.write((typeof m === 'string' ? m : JSON.stringify(m)) + '\n'),
    next: () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => waiters.push(r))).then((l) => JSON.parse(l)),
    end: () => {
      p.stdin.end();
      return exited;
    },
  };
}

const init = (version) => ({
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
});

await check('2025-03-26', async () => {
  const s = raw(['--session', `${SESSION}-old`]);
  s.send(init('2025-03-26'));
  const r = await s.next();
  ok(r.result && r.result.protocolVersion === '2025-03-26', 'a raw 2025-03-26 initialize gets 2025-03-26 back', JSON.stringify(r));
  s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  s.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const l = await s.next();
  const t = l.result.tools.find((x) => x.name === 'run_command');
  ok(!('outputSchema' in t) && !('title' in t) && t.annotations.title, 'with 2025-03-26 tools have no outputSchema or title (annotations.title)');
  s.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'run_command', arguments: { command: 'echo old' } } });
  const c = await s.next();
  const obj = JSON.parse(c.result.content[1].text);
  ok(!('structuredContent' in c.result) && obj.stdout === 'old\n', 'with 2025-03-26 the result object comes as a second text');
  ok(await s.end() === 0, 'agentcg mcp exits 0 when stdin closes');
});

await check('an unknown version, and bad lines', async () => {
  const s = raw([], { AGENTCG_SESSION: `${SESSION}-raw` });
  s.send({ jsonrpc: '2.0', id: 0, method: 'tools/list' });
  const pre = await s.next();
  ok(pre.error && pre.error.code === -32600, 'tools/list before initialize is refused', JSON.stringify(pre));
  s.send(init('1999-01-01'));
  const r = await s.next();
  ok(r.result && r.result.protocolVersion === '2025-11-25', 'an unknown protocol version is answered with 2025-11-25', JSON.stringify(r));
  s.send('{"jsonrpc": "2.0", "id": 2, "method": ');
  const p = await s.next();
  ok(p.error && p.error.code === -32700 && p.id === null, 'a line that is not JSON gets -32700', JSON.stringify(p));
  s.send('{"jsonrpc":"2.0","id":3,"method":"ping","params":{"x":"' + 'a'.repeat(17 << 20) + '"}}');
  const big = await s.next();
  ok(big.error && big.error.code === -32600 && /16 MiB/.test(big.error.message), 'a line over 16 MiB is refused', JSON.stringify(big).slice(0, 300));
  s.send({ jsonrpc: '2.0', id: 4, method: 'ping' });
  const after = await s.next();
  ok(after.id === 4 && after.result, 'and the next line is served');
  s.send({ jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'run_command', arguments: { command: 'true' } } });
  const c = await s.next();
  ok((c.result.structuredContent.path || '').startsWith(`${SESSION}-raw/`), '$AGENTCG_SESSION names the default session');
  ok(await s.end() === 0, 'it exits 0 when stdin closes');
});

await check('the default session name', async () => {
  const s = raw([]);
  s.send(init('2025-06-18'));
  await s.next();
  s.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'run_command', arguments: { command: 'true' } } });
  const c = await s.next();
  ok((c.result.structuredContent.path || '').startsWith(`/default/mcp-${s.pid}/`),
    'without --session or $AGENTCG_SESSION the session is /default/mcp-PID', JSON.stringify(c.result.structuredContent && c.result.structuredContent.path));
  await s.end();
  ok(await waitFor(() => (sessionsLike('default', `mcp-${s.pid}`) || ['?']).length === 0), 'and it is closed at the end');
});

await check('SIGTERM', async () => {
  const s = raw(['--session', `${SESSION}-term`]);
  s.send(init('2025-11-25'));
  await s.next();
  s.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'python_exec', arguments: { code: 'import time\nwhile True: time.sleep(0.05)' } } });
  ok(await waitFor(() => callRunning(`${SESSION}-term-python`)), 'a cell runs');
  process.kill(s.pid, 'SIGTERM');
  const code = await s.end();
  ok(code === 143, 'on SIGTERM it exits 128+15', code);
  ok(await waitFor(() => (sessionsLike(TENANT, `${SESSION.split('/')[2]}-term`) || ['?']).length === 0),
    'the running cell is stopped and the session closed');
});

process.exit(failed ? 1 : 0);

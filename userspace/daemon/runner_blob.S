/* Embeds userspace/runner/agentcg_runner.py as acd_runner_src
 * (NUL-terminated): agentcgd passes it to the interpreter with -c. */
	.section .rodata
	.global acd_runner_src
	.type acd_runner_src, @object
acd_runner_src:
	.incbin "userspace/runner/agentcg_runner.py"
	.byte 0
acd_runner_src_end:
	.size acd_runner_src, acd_runner_src_end - acd_runner_src
	.section .note.GNU-stack,"",@progbits

/* Embeds config/agentcgd.json as ac_default_config (NUL-terminated). */
	.section .rodata
	.global ac_default_config
	.type ac_default_config, @object
ac_default_config:
	.incbin "config/agentcgd.json"
	.byte 0
ac_default_config_end:
	.size ac_default_config, ac_default_config_end - ac_default_config
	.global ac_default_config_len
	.type ac_default_config_len, @object
	.balign 8
ac_default_config_len:
	.quad ac_default_config_end - ac_default_config - 1
	.size ac_default_config_len, 8
	.section .note.GNU-stack,"",@progbits

function __secretsfs_should_offer_completions_for_flags_or_options -a expected_commands
    set -l non_repeating_flags_or_options $argv[2..]
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __secretsfs_parse_tokens
    test "$commands" = "$expected_commands"; and return $non_repeating_flags_or_options_absent
end

function __secretsfs_should_offer_completions_for_positional -a expected_commands positional_index_comparison expected_positional_index
    set -l non_repeating_flags_or_options
    set -l non_repeating_flags_or_options_absent 0
    set -l positional_index 0
    set -l commands
    __secretsfs_parse_tokens
    test "$commands" = "$expected_commands" -a \( "$positional_index" "$positional_index_comparison" "$expected_positional_index" \)
end

function __secretsfs_parse_tokens -S
    set -l unparsed_tokens (__secretsfs_tokens -pc)
    switch $unparsed_tokens[1]
    case 'secretsfs'
        __secretsfs_parse_subcommand 0 'h/help'
        switch $unparsed_tokens[1]
        case 'mount'
            __secretsfs_parse_subcommand 1 'cache-ttl=' 'refresh-jitter=' 'max-stale=' 'negative-ttl=' 'cache-max-entries=' 'direct-io' 'keep-pages' 'show-versions' 'busy-poll=' 'uid=' 'gid=' 'file-mode=' 'dir-mode=' 'allow-other' 'rotation-length=' 'audit-log=' 'mlock' 'daemon' 'log-file=' 'o=+' 'config=' 'backend=' 'store=' 'store-key-file=' 'env-prefix=' 'env-include=+' 'vault-addr=' 'vault-token-file=' 'vault-namespace=' 'vault-mount=' 'vault-kv-version=' 'vault-prefix=' 'vault-auth=' 'vault-role-id=' 'vault-secret-id-file=' 'vault-role=' 'vault-jwt-file=' 'vault-auth-mount=' 'vault-cacert=' 'vault-skip-verify' 'aws-region=' 'aws-endpoint=' 'aws-profile=' 'aws-prefix=' 'ssm-prefix=' 'json-fields=' 'backend-timeout=' 'log-level=' 'log-format=' 'h/help'
        case 'unmount'
            __secretsfs_parse_subcommand 1 'h/help'
        case 'get'
            __secretsfs_parse_subcommand 1 'version=' 'config=' 'backend=' 'store=' 'store-key-file=' 'env-prefix=' 'env-include=+' 'vault-addr=' 'vault-token-file=' 'vault-namespace=' 'vault-mount=' 'vault-kv-version=' 'vault-prefix=' 'vault-auth=' 'vault-role-id=' 'vault-secret-id-file=' 'vault-role=' 'vault-jwt-file=' 'vault-auth-mount=' 'vault-cacert=' 'vault-skip-verify' 'aws-region=' 'aws-endpoint=' 'aws-profile=' 'aws-prefix=' 'ssm-prefix=' 'json-fields=' 'backend-timeout=' 'log-level=' 'log-format=' 'h/help'
        case 'ls'
            __secretsfs_parse_subcommand 1 'r/recursive' 'config=' 'backend=' 'store=' 'store-key-file=' 'env-prefix=' 'env-include=+' 'vault-addr=' 'vault-token-file=' 'vault-namespace=' 'vault-mount=' 'vault-kv-version=' 'vault-prefix=' 'vault-auth=' 'vault-role-id=' 'vault-secret-id-file=' 'vault-role=' 'vault-jwt-file=' 'vault-auth-mount=' 'vault-cacert=' 'vault-skip-verify' 'aws-region=' 'aws-endpoint=' 'aws-profile=' 'aws-prefix=' 'ssm-prefix=' 'json-fields=' 'backend-timeout=' 'log-level=' 'log-format=' 'h/help'
        case 'versions'
            __secretsfs_parse_subcommand 1 'config=' 'backend=' 'store=' 'store-key-file=' 'env-prefix=' 'env-include=+' 'vault-addr=' 'vault-token-file=' 'vault-namespace=' 'vault-mount=' 'vault-kv-version=' 'vault-prefix=' 'vault-auth=' 'vault-role-id=' 'vault-secret-id-file=' 'vault-role=' 'vault-jwt-file=' 'vault-auth-mount=' 'vault-cacert=' 'vault-skip-verify' 'aws-region=' 'aws-endpoint=' 'aws-profile=' 'aws-prefix=' 'ssm-prefix=' 'json-fields=' 'backend-timeout=' 'log-level=' 'log-format=' 'h/help'
        case 'put'
            __secretsfs_parse_subcommand 1 'from-file=' 'field=' 'rotate-every=' 'rotation-lambda=' 'config=' 'backend=' 'store=' 'store-key-file=' 'env-prefix=' 'env-include=+' 'vault-addr=' 'vault-token-file=' 'vault-namespace=' 'vault-mount=' 'vault-kv-version=' 'vault-prefix=' 'vault-auth=' 'vault-role-id=' 'vault-secret-id-file=' 'vault-role=' 'vault-jwt-file=' 'vault-auth-mount=' 'vault-cacert=' 'vault-skip-verify' 'aws-region=' 'aws-endpoint=' 'aws-profile=' 'aws-prefix=' 'ssm-prefix=' 'json-fields=' 'backend-timeout=' 'log-level=' 'log-format=' 'h/help'
        case 'rotate'
            __secretsfs_parse_subcommand 1 'length=' 'config=' 'backend=' 'store=' 'store-key-file=' 'env-prefix=' 'env-include=+' 'vault-addr=' 'vault-token-file=' 'vault-namespace=' 'vault-mount=' 'vault-kv-version=' 'vault-prefix=' 'vault-auth=' 'vault-role-id=' 'vault-secret-id-file=' 'vault-role=' 'vault-jwt-file=' 'vault-auth-mount=' 'vault-cacert=' 'vault-skip-verify' 'aws-region=' 'aws-endpoint=' 'aws-profile=' 'aws-prefix=' 'ssm-prefix=' 'json-fields=' 'backend-timeout=' 'log-level=' 'log-format=' 'h/help'
        case 'health'
            __secretsfs_parse_subcommand 0 'config=' 'backend=' 'store=' 'store-key-file=' 'env-prefix=' 'env-include=+' 'vault-addr=' 'vault-token-file=' 'vault-namespace=' 'vault-mount=' 'vault-kv-version=' 'vault-prefix=' 'vault-auth=' 'vault-role-id=' 'vault-secret-id-file=' 'vault-role=' 'vault-jwt-file=' 'vault-auth-mount=' 'vault-cacert=' 'vault-skip-verify' 'aws-region=' 'aws-endpoint=' 'aws-profile=' 'aws-prefix=' 'ssm-prefix=' 'json-fields=' 'backend-timeout=' 'log-level=' 'log-format=' 'h/help'
        case 'status'
            __secretsfs_parse_subcommand 1 'json' 'h/help'
        case 'reload'
            __secretsfs_parse_subcommand 1 'timeout=' 'h/help'
        case 'store'
            __secretsfs_parse_subcommand 0 'h/help'
            switch $unparsed_tokens[1]
            case 'encrypt'
                __secretsfs_parse_subcommand 0 'config=' 'backend=' 'store=' 'store-key-file=' 'env-prefix=' 'env-include=+' 'vault-addr=' 'vault-token-file=' 'vault-namespace=' 'vault-mount=' 'vault-kv-version=' 'vault-prefix=' 'vault-auth=' 'vault-role-id=' 'vault-secret-id-file=' 'vault-role=' 'vault-jwt-file=' 'vault-auth-mount=' 'vault-cacert=' 'vault-skip-verify' 'aws-region=' 'aws-endpoint=' 'aws-profile=' 'aws-prefix=' 'ssm-prefix=' 'json-fields=' 'backend-timeout=' 'log-level=' 'log-format=' 'h/help'
            end
        case 'help'
            __secretsfs_parse_subcommand -r 1 
        end
    end
end

function __secretsfs_tokens
    if test (string split -m 1 -f 1 -- . "$FISH_VERSION") -gt 3
        commandline --tokens-raw $argv
    else
        commandline -o $argv
    end
end

function __secretsfs_parse_subcommand -S -a positional_count
    argparse -s r -- $argv
    set -l option_specs $argv[2..]
    set -l is_repeating_positional $_flag_r
    set -el _flag_r
    set -a commands $unparsed_tokens[1]
    set positional_index 0
    while true
        set -e unparsed_tokens[1]
        argparse -sn "$commands" $option_specs -- $unparsed_tokens 2> /dev/null
        set unparsed_tokens $argv
        set positional_index (math $positional_index + 1)
        for non_repeating_flag_or_option in $non_repeating_flags_or_options
            if set -ql "_flag_$(string replace -a - _ -- $non_repeating_flag_or_option)"
                set non_repeating_flags_or_options_absent 1
                break
            end
        end
        test (count $unparsed_tokens) -eq 0 -o \( -z "$is_repeating_positional" -a "$positional_index" -gt "$positional_count" \) && break
    end
end

function __secretsfs_complete_directories
    set -l token (commandline -t)
    string match -- '*/' $token
    set -l subdirs $token*/
    printf %s\n $subdirs
end

function __secretsfs_custom_completion
    set -x SAP_SHELL fish
    set -x SAP_SHELL_VERSION $FISH_VERSION
    set -l tokens (__secretsfs_tokens -p)
    if test -z "$(__secretsfs_tokens -t)"
        set -l index (count (__secretsfs_tokens -pc))
        set tokens $tokens[..$index] \'\' $tokens[(math $index + 1)..]
    end
    command $tokens[1] $argv $tokens
end

complete -c 'secretsfs' -f
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs" -eq 1' -fa 'mount' -d 'Mount the store as read-only files; runs in the foreground until SIGINT, SIGTERM or unmount.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs" -eq 1' -fa 'unmount' -d 'Unmount a secretsfs mount.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs" -eq 1' -fa 'get' -d 'Print a secret\'s value on stdout, bytes exactly.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs" -eq 1' -fa 'ls' -d 'List the names under a folder; folders end with \'/\'.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs" -eq 1' -fa 'versions' -d 'List a secret\'s versions, oldest first: id, created, labels.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs" -eq 1' -fa 'put' -d 'Write a new version from stdin (or --from-file); never from argv.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs" -eq 1' -fa 'rotate' -d 'Replace a secret (or one field) with a new random value.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs" -eq 1' -fa 'health' -d 'Check that the backend answers; exit 0 when it does.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs" -eq 1' -fa 'status' -d 'Show a mount\'s .status in words.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs" -eq 1' -fa 'reload' -d 'Replace a mount\'s worker with the binary and config now on disk; the mount keeps serving.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs" -eq 1' -fa 'store' -d 'Manage the local store\'s file.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs" -eq 1' -fa 'help' -d 'Show subcommand help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" cache-ttl' -l 'cache-ttl' -d 'How long a value is fresh (default 300s; 0 turns caching off).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" refresh-jitter' -l 'refresh-jitter' -d 'Random part of the TTL by which each answer expires early, so a fleet does not refresh in step (default 10%; 0 off).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" max-stale' -l 'max-stale' -d 'How long past its TTL a value is served when the backend fails (default 24h; 0 off).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" negative-ttl' -l 'negative-ttl' -d 'How long a missing secret is remembered (default 10s).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" cache-max-entries' -l 'cache-max-entries' -d 'Most entries kept in the cache (default 10000).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" direct-io' -l 'direct-io' -d 'Every open and read reaches the daemon; nothing stays in the page cache.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" keep-pages' -l 'keep-pages' -d 'Accepted and ignored: values stay in the page cache in every mode but --direct-io.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" show-versions' -l 'show-versions' -d 'List .versions in folders (it opens by name either way).'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" busy-poll' -l 'busy-poll' -d 'Microseconds the daemon stays awake after a request for the next one of a burst (default 200; 0 off).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" uid' -l 'uid' -d 'Owner of every file (default: the mounting user).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" gid' -l 'gid' -d 'Group of every file (default: the mounting user\'s group).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" file-mode' -l 'file-mode' -d 'Mode of secret files, octal (default 0400).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" dir-mode' -l 'dir-mode' -d 'Mode of folders, octal (default 0500).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" allow-other' -l 'allow-other' -d 'Let other users reach the mount (modes and the policy still apply).'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" rotation-length' -l 'rotation-length' -d 'Length of values made by .rotate: letters and digits (default 32).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" audit-log' -l 'audit-log' -d 'Append one JSON line per open and per rotation to this file.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" mlock' -l 'mlock' -d 'Lock the daemon\'s memory so values never reach swap.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" daemon' -l 'daemon' -d 'Run in the background; exit 0 once the mount serves, or non-zero with the daemon\'s error.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" log-file' -l 'log-file' -d 'With --daemon: where the daemon\'s log goes (default: nowhere).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount"' -s 'o' -d 'Mount options, comma-separated, as in fstab (repeatable).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" config' -l 'config' -d 'YAML file whose keys are these flags\' names (env: SECRETSFS_CONFIG; flags and environment win).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" backend' -l 'backend' -d 'Backend: local, env, vault, aws or ssm (env: SECRETSFS_BACKEND; default local).' -rfka 'local env vault aws ssm'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" store' -l 'store' -d 'Local store file (env: SECRETSFS_STORE; default $XDG_DATA_HOME/secretsfs/secrets.db).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" store-key-file' -l 'store-key-file' -d 'File holding the 32-byte key that encrypts the local store\'s values (raw, base64 or hex) (env: SECRETSFS_STORE_KEY_FILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" env-prefix' -l 'env-prefix' -d 'env: only variables with this prefix are shown.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount"' -l 'env-include' -d 'env: also show variables matching this glob (repeatable).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-addr' -l 'vault-addr' -d 'Vault address (env: VAULT_ADDR).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-token-file' -l 'vault-token-file' -d 'File holding the Vault token (else VAULT_TOKEN, else ~/.vault-token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-namespace' -l 'vault-namespace' -d 'Vault namespace (env: VAULT_NAMESPACE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-mount' -l 'vault-mount' -d 'KV v2 mount (default secret).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-kv-version' -l 'vault-kv-version' -d 'KV engine version of the mount, 1 or 2 (default asked of Vault).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-prefix' -l 'vault-prefix' -d 'Sub-path of the KV mount shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-auth' -l 'vault-auth' -d 'Vault auth: token, approle, jwt or kubernetes.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-role-id' -l 'vault-role-id' -d 'AppRole role id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-secret-id-file' -l 'vault-secret-id-file' -d 'File holding the AppRole secret id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-role' -l 'vault-role' -d 'Role for jwt and kubernetes auth.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-jwt-file' -l 'vault-jwt-file' -d 'File holding the JWT (kubernetes: the service-account token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-auth-mount' -l 'vault-auth-mount' -d 'Mount path of the auth method.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-cacert' -l 'vault-cacert' -d 'CA certificate file for Vault\'s TLS (env: VAULT_CACERT).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" vault-skip-verify' -l 'vault-skip-verify' -d 'Do not verify Vault\'s TLS certificate (env: VAULT_SKIP_VERIFY).'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" aws-region' -l 'aws-region' -d 'AWS region (env: AWS_REGION, AWS_DEFAULT_REGION).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" aws-endpoint' -l 'aws-endpoint' -d 'Secrets Manager or SSM endpoint (env: AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL; ssm: AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" aws-profile' -l 'aws-profile' -d 'Shared config profile (env: AWS_PROFILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" aws-prefix' -l 'aws-prefix' -d 'Name prefix shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" ssm-prefix' -l 'ssm-prefix' -d 'ssm: parameter path shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" json-fields' -l 'json-fields' -d 'raw: a JSON SecretString is one file; expand: a folder of fields.' -rfka 'raw expand'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" backend-timeout' -l 'backend-timeout' -d 'Deadline of each backend call (default 5s).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" log-level' -l 'log-level' -d 'trace, debug, info, notice, warning, error or critical (default error; mount: info).' -rfka 'trace debug info notice warning error critical'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" log-format' -l 'log-format' -d 'text or json.' -rfka 'text json'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs mount" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs unmount" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" version' -l 'version' -d 'A version id instead of the current value.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" config' -l 'config' -d 'YAML file whose keys are these flags\' names (env: SECRETSFS_CONFIG; flags and environment win).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" backend' -l 'backend' -d 'Backend: local, env, vault, aws or ssm (env: SECRETSFS_BACKEND; default local).' -rfka 'local env vault aws ssm'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" store' -l 'store' -d 'Local store file (env: SECRETSFS_STORE; default $XDG_DATA_HOME/secretsfs/secrets.db).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" store-key-file' -l 'store-key-file' -d 'File holding the 32-byte key that encrypts the local store\'s values (raw, base64 or hex) (env: SECRETSFS_STORE_KEY_FILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" env-prefix' -l 'env-prefix' -d 'env: only variables with this prefix are shown.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get"' -l 'env-include' -d 'env: also show variables matching this glob (repeatable).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-addr' -l 'vault-addr' -d 'Vault address (env: VAULT_ADDR).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-token-file' -l 'vault-token-file' -d 'File holding the Vault token (else VAULT_TOKEN, else ~/.vault-token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-namespace' -l 'vault-namespace' -d 'Vault namespace (env: VAULT_NAMESPACE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-mount' -l 'vault-mount' -d 'KV v2 mount (default secret).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-kv-version' -l 'vault-kv-version' -d 'KV engine version of the mount, 1 or 2 (default asked of Vault).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-prefix' -l 'vault-prefix' -d 'Sub-path of the KV mount shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-auth' -l 'vault-auth' -d 'Vault auth: token, approle, jwt or kubernetes.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-role-id' -l 'vault-role-id' -d 'AppRole role id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-secret-id-file' -l 'vault-secret-id-file' -d 'File holding the AppRole secret id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-role' -l 'vault-role' -d 'Role for jwt and kubernetes auth.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-jwt-file' -l 'vault-jwt-file' -d 'File holding the JWT (kubernetes: the service-account token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-auth-mount' -l 'vault-auth-mount' -d 'Mount path of the auth method.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-cacert' -l 'vault-cacert' -d 'CA certificate file for Vault\'s TLS (env: VAULT_CACERT).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" vault-skip-verify' -l 'vault-skip-verify' -d 'Do not verify Vault\'s TLS certificate (env: VAULT_SKIP_VERIFY).'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" aws-region' -l 'aws-region' -d 'AWS region (env: AWS_REGION, AWS_DEFAULT_REGION).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" aws-endpoint' -l 'aws-endpoint' -d 'Secrets Manager or SSM endpoint (env: AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL; ssm: AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" aws-profile' -l 'aws-profile' -d 'Shared config profile (env: AWS_PROFILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" aws-prefix' -l 'aws-prefix' -d 'Name prefix shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" ssm-prefix' -l 'ssm-prefix' -d 'ssm: parameter path shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" json-fields' -l 'json-fields' -d 'raw: a JSON SecretString is one file; expand: a folder of fields.' -rfka 'raw expand'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" backend-timeout' -l 'backend-timeout' -d 'Deadline of each backend call (default 5s).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" log-level' -l 'log-level' -d 'trace, debug, info, notice, warning, error or critical (default error; mount: info).' -rfka 'trace debug info notice warning error critical'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" log-format' -l 'log-format' -d 'text or json.' -rfka 'text json'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs get" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" r recursive' -s 'r' -l 'recursive' -d 'List every secret below, as full paths.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" config' -l 'config' -d 'YAML file whose keys are these flags\' names (env: SECRETSFS_CONFIG; flags and environment win).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" backend' -l 'backend' -d 'Backend: local, env, vault, aws or ssm (env: SECRETSFS_BACKEND; default local).' -rfka 'local env vault aws ssm'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" store' -l 'store' -d 'Local store file (env: SECRETSFS_STORE; default $XDG_DATA_HOME/secretsfs/secrets.db).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" store-key-file' -l 'store-key-file' -d 'File holding the 32-byte key that encrypts the local store\'s values (raw, base64 or hex) (env: SECRETSFS_STORE_KEY_FILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" env-prefix' -l 'env-prefix' -d 'env: only variables with this prefix are shown.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls"' -l 'env-include' -d 'env: also show variables matching this glob (repeatable).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-addr' -l 'vault-addr' -d 'Vault address (env: VAULT_ADDR).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-token-file' -l 'vault-token-file' -d 'File holding the Vault token (else VAULT_TOKEN, else ~/.vault-token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-namespace' -l 'vault-namespace' -d 'Vault namespace (env: VAULT_NAMESPACE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-mount' -l 'vault-mount' -d 'KV v2 mount (default secret).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-kv-version' -l 'vault-kv-version' -d 'KV engine version of the mount, 1 or 2 (default asked of Vault).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-prefix' -l 'vault-prefix' -d 'Sub-path of the KV mount shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-auth' -l 'vault-auth' -d 'Vault auth: token, approle, jwt or kubernetes.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-role-id' -l 'vault-role-id' -d 'AppRole role id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-secret-id-file' -l 'vault-secret-id-file' -d 'File holding the AppRole secret id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-role' -l 'vault-role' -d 'Role for jwt and kubernetes auth.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-jwt-file' -l 'vault-jwt-file' -d 'File holding the JWT (kubernetes: the service-account token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-auth-mount' -l 'vault-auth-mount' -d 'Mount path of the auth method.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-cacert' -l 'vault-cacert' -d 'CA certificate file for Vault\'s TLS (env: VAULT_CACERT).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" vault-skip-verify' -l 'vault-skip-verify' -d 'Do not verify Vault\'s TLS certificate (env: VAULT_SKIP_VERIFY).'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" aws-region' -l 'aws-region' -d 'AWS region (env: AWS_REGION, AWS_DEFAULT_REGION).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" aws-endpoint' -l 'aws-endpoint' -d 'Secrets Manager or SSM endpoint (env: AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL; ssm: AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" aws-profile' -l 'aws-profile' -d 'Shared config profile (env: AWS_PROFILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" aws-prefix' -l 'aws-prefix' -d 'Name prefix shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" ssm-prefix' -l 'ssm-prefix' -d 'ssm: parameter path shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" json-fields' -l 'json-fields' -d 'raw: a JSON SecretString is one file; expand: a folder of fields.' -rfka 'raw expand'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" backend-timeout' -l 'backend-timeout' -d 'Deadline of each backend call (default 5s).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" log-level' -l 'log-level' -d 'trace, debug, info, notice, warning, error or critical (default error; mount: info).' -rfka 'trace debug info notice warning error critical'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" log-format' -l 'log-format' -d 'text or json.' -rfka 'text json'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs ls" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" config' -l 'config' -d 'YAML file whose keys are these flags\' names (env: SECRETSFS_CONFIG; flags and environment win).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" backend' -l 'backend' -d 'Backend: local, env, vault, aws or ssm (env: SECRETSFS_BACKEND; default local).' -rfka 'local env vault aws ssm'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" store' -l 'store' -d 'Local store file (env: SECRETSFS_STORE; default $XDG_DATA_HOME/secretsfs/secrets.db).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" store-key-file' -l 'store-key-file' -d 'File holding the 32-byte key that encrypts the local store\'s values (raw, base64 or hex) (env: SECRETSFS_STORE_KEY_FILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" env-prefix' -l 'env-prefix' -d 'env: only variables with this prefix are shown.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions"' -l 'env-include' -d 'env: also show variables matching this glob (repeatable).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-addr' -l 'vault-addr' -d 'Vault address (env: VAULT_ADDR).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-token-file' -l 'vault-token-file' -d 'File holding the Vault token (else VAULT_TOKEN, else ~/.vault-token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-namespace' -l 'vault-namespace' -d 'Vault namespace (env: VAULT_NAMESPACE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-mount' -l 'vault-mount' -d 'KV v2 mount (default secret).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-kv-version' -l 'vault-kv-version' -d 'KV engine version of the mount, 1 or 2 (default asked of Vault).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-prefix' -l 'vault-prefix' -d 'Sub-path of the KV mount shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-auth' -l 'vault-auth' -d 'Vault auth: token, approle, jwt or kubernetes.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-role-id' -l 'vault-role-id' -d 'AppRole role id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-secret-id-file' -l 'vault-secret-id-file' -d 'File holding the AppRole secret id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-role' -l 'vault-role' -d 'Role for jwt and kubernetes auth.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-jwt-file' -l 'vault-jwt-file' -d 'File holding the JWT (kubernetes: the service-account token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-auth-mount' -l 'vault-auth-mount' -d 'Mount path of the auth method.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-cacert' -l 'vault-cacert' -d 'CA certificate file for Vault\'s TLS (env: VAULT_CACERT).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" vault-skip-verify' -l 'vault-skip-verify' -d 'Do not verify Vault\'s TLS certificate (env: VAULT_SKIP_VERIFY).'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" aws-region' -l 'aws-region' -d 'AWS region (env: AWS_REGION, AWS_DEFAULT_REGION).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" aws-endpoint' -l 'aws-endpoint' -d 'Secrets Manager or SSM endpoint (env: AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL; ssm: AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" aws-profile' -l 'aws-profile' -d 'Shared config profile (env: AWS_PROFILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" aws-prefix' -l 'aws-prefix' -d 'Name prefix shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" ssm-prefix' -l 'ssm-prefix' -d 'ssm: parameter path shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" json-fields' -l 'json-fields' -d 'raw: a JSON SecretString is one file; expand: a folder of fields.' -rfka 'raw expand'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" backend-timeout' -l 'backend-timeout' -d 'Deadline of each backend call (default 5s).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" log-level' -l 'log-level' -d 'trace, debug, info, notice, warning, error or critical (default error; mount: info).' -rfka 'trace debug info notice warning error critical'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" log-format' -l 'log-format' -d 'text or json.' -rfka 'text json'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs versions" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" from-file' -l 'from-file' -d 'Read the value from this file instead of stdin.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" field' -l 'field' -d 'Set this field of a multi-field secret, keeping the others.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" rotate-every' -l 'rotate-every' -d 'aws: rotate on this schedule (e.g. 30d), with --rotation-lambda.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" rotation-lambda' -l 'rotation-lambda' -d 'aws: ARN of the Lambda that rotates the secret.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" config' -l 'config' -d 'YAML file whose keys are these flags\' names (env: SECRETSFS_CONFIG; flags and environment win).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" backend' -l 'backend' -d 'Backend: local, env, vault, aws or ssm (env: SECRETSFS_BACKEND; default local).' -rfka 'local env vault aws ssm'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" store' -l 'store' -d 'Local store file (env: SECRETSFS_STORE; default $XDG_DATA_HOME/secretsfs/secrets.db).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" store-key-file' -l 'store-key-file' -d 'File holding the 32-byte key that encrypts the local store\'s values (raw, base64 or hex) (env: SECRETSFS_STORE_KEY_FILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" env-prefix' -l 'env-prefix' -d 'env: only variables with this prefix are shown.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put"' -l 'env-include' -d 'env: also show variables matching this glob (repeatable).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-addr' -l 'vault-addr' -d 'Vault address (env: VAULT_ADDR).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-token-file' -l 'vault-token-file' -d 'File holding the Vault token (else VAULT_TOKEN, else ~/.vault-token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-namespace' -l 'vault-namespace' -d 'Vault namespace (env: VAULT_NAMESPACE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-mount' -l 'vault-mount' -d 'KV v2 mount (default secret).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-kv-version' -l 'vault-kv-version' -d 'KV engine version of the mount, 1 or 2 (default asked of Vault).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-prefix' -l 'vault-prefix' -d 'Sub-path of the KV mount shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-auth' -l 'vault-auth' -d 'Vault auth: token, approle, jwt or kubernetes.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-role-id' -l 'vault-role-id' -d 'AppRole role id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-secret-id-file' -l 'vault-secret-id-file' -d 'File holding the AppRole secret id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-role' -l 'vault-role' -d 'Role for jwt and kubernetes auth.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-jwt-file' -l 'vault-jwt-file' -d 'File holding the JWT (kubernetes: the service-account token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-auth-mount' -l 'vault-auth-mount' -d 'Mount path of the auth method.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-cacert' -l 'vault-cacert' -d 'CA certificate file for Vault\'s TLS (env: VAULT_CACERT).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" vault-skip-verify' -l 'vault-skip-verify' -d 'Do not verify Vault\'s TLS certificate (env: VAULT_SKIP_VERIFY).'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" aws-region' -l 'aws-region' -d 'AWS region (env: AWS_REGION, AWS_DEFAULT_REGION).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" aws-endpoint' -l 'aws-endpoint' -d 'Secrets Manager or SSM endpoint (env: AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL; ssm: AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" aws-profile' -l 'aws-profile' -d 'Shared config profile (env: AWS_PROFILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" aws-prefix' -l 'aws-prefix' -d 'Name prefix shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" ssm-prefix' -l 'ssm-prefix' -d 'ssm: parameter path shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" json-fields' -l 'json-fields' -d 'raw: a JSON SecretString is one file; expand: a folder of fields.' -rfka 'raw expand'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" backend-timeout' -l 'backend-timeout' -d 'Deadline of each backend call (default 5s).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" log-level' -l 'log-level' -d 'trace, debug, info, notice, warning, error or critical (default error; mount: info).' -rfka 'trace debug info notice warning error critical'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" log-format' -l 'log-format' -d 'text or json.' -rfka 'text json'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs put" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" length' -l 'length' -d 'Length of the new value: letters and digits, 8 to 4096.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" config' -l 'config' -d 'YAML file whose keys are these flags\' names (env: SECRETSFS_CONFIG; flags and environment win).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" backend' -l 'backend' -d 'Backend: local, env, vault, aws or ssm (env: SECRETSFS_BACKEND; default local).' -rfka 'local env vault aws ssm'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" store' -l 'store' -d 'Local store file (env: SECRETSFS_STORE; default $XDG_DATA_HOME/secretsfs/secrets.db).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" store-key-file' -l 'store-key-file' -d 'File holding the 32-byte key that encrypts the local store\'s values (raw, base64 or hex) (env: SECRETSFS_STORE_KEY_FILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" env-prefix' -l 'env-prefix' -d 'env: only variables with this prefix are shown.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate"' -l 'env-include' -d 'env: also show variables matching this glob (repeatable).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-addr' -l 'vault-addr' -d 'Vault address (env: VAULT_ADDR).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-token-file' -l 'vault-token-file' -d 'File holding the Vault token (else VAULT_TOKEN, else ~/.vault-token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-namespace' -l 'vault-namespace' -d 'Vault namespace (env: VAULT_NAMESPACE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-mount' -l 'vault-mount' -d 'KV v2 mount (default secret).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-kv-version' -l 'vault-kv-version' -d 'KV engine version of the mount, 1 or 2 (default asked of Vault).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-prefix' -l 'vault-prefix' -d 'Sub-path of the KV mount shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-auth' -l 'vault-auth' -d 'Vault auth: token, approle, jwt or kubernetes.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-role-id' -l 'vault-role-id' -d 'AppRole role id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-secret-id-file' -l 'vault-secret-id-file' -d 'File holding the AppRole secret id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-role' -l 'vault-role' -d 'Role for jwt and kubernetes auth.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-jwt-file' -l 'vault-jwt-file' -d 'File holding the JWT (kubernetes: the service-account token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-auth-mount' -l 'vault-auth-mount' -d 'Mount path of the auth method.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-cacert' -l 'vault-cacert' -d 'CA certificate file for Vault\'s TLS (env: VAULT_CACERT).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" vault-skip-verify' -l 'vault-skip-verify' -d 'Do not verify Vault\'s TLS certificate (env: VAULT_SKIP_VERIFY).'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" aws-region' -l 'aws-region' -d 'AWS region (env: AWS_REGION, AWS_DEFAULT_REGION).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" aws-endpoint' -l 'aws-endpoint' -d 'Secrets Manager or SSM endpoint (env: AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL; ssm: AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" aws-profile' -l 'aws-profile' -d 'Shared config profile (env: AWS_PROFILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" aws-prefix' -l 'aws-prefix' -d 'Name prefix shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" ssm-prefix' -l 'ssm-prefix' -d 'ssm: parameter path shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" json-fields' -l 'json-fields' -d 'raw: a JSON SecretString is one file; expand: a folder of fields.' -rfka 'raw expand'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" backend-timeout' -l 'backend-timeout' -d 'Deadline of each backend call (default 5s).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" log-level' -l 'log-level' -d 'trace, debug, info, notice, warning, error or critical (default error; mount: info).' -rfka 'trace debug info notice warning error critical'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" log-format' -l 'log-format' -d 'text or json.' -rfka 'text json'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs rotate" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" config' -l 'config' -d 'YAML file whose keys are these flags\' names (env: SECRETSFS_CONFIG; flags and environment win).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" backend' -l 'backend' -d 'Backend: local, env, vault, aws or ssm (env: SECRETSFS_BACKEND; default local).' -rfka 'local env vault aws ssm'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" store' -l 'store' -d 'Local store file (env: SECRETSFS_STORE; default $XDG_DATA_HOME/secretsfs/secrets.db).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" store-key-file' -l 'store-key-file' -d 'File holding the 32-byte key that encrypts the local store\'s values (raw, base64 or hex) (env: SECRETSFS_STORE_KEY_FILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" env-prefix' -l 'env-prefix' -d 'env: only variables with this prefix are shown.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health"' -l 'env-include' -d 'env: also show variables matching this glob (repeatable).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-addr' -l 'vault-addr' -d 'Vault address (env: VAULT_ADDR).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-token-file' -l 'vault-token-file' -d 'File holding the Vault token (else VAULT_TOKEN, else ~/.vault-token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-namespace' -l 'vault-namespace' -d 'Vault namespace (env: VAULT_NAMESPACE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-mount' -l 'vault-mount' -d 'KV v2 mount (default secret).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-kv-version' -l 'vault-kv-version' -d 'KV engine version of the mount, 1 or 2 (default asked of Vault).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-prefix' -l 'vault-prefix' -d 'Sub-path of the KV mount shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-auth' -l 'vault-auth' -d 'Vault auth: token, approle, jwt or kubernetes.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-role-id' -l 'vault-role-id' -d 'AppRole role id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-secret-id-file' -l 'vault-secret-id-file' -d 'File holding the AppRole secret id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-role' -l 'vault-role' -d 'Role for jwt and kubernetes auth.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-jwt-file' -l 'vault-jwt-file' -d 'File holding the JWT (kubernetes: the service-account token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-auth-mount' -l 'vault-auth-mount' -d 'Mount path of the auth method.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-cacert' -l 'vault-cacert' -d 'CA certificate file for Vault\'s TLS (env: VAULT_CACERT).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" vault-skip-verify' -l 'vault-skip-verify' -d 'Do not verify Vault\'s TLS certificate (env: VAULT_SKIP_VERIFY).'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" aws-region' -l 'aws-region' -d 'AWS region (env: AWS_REGION, AWS_DEFAULT_REGION).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" aws-endpoint' -l 'aws-endpoint' -d 'Secrets Manager or SSM endpoint (env: AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL; ssm: AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" aws-profile' -l 'aws-profile' -d 'Shared config profile (env: AWS_PROFILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" aws-prefix' -l 'aws-prefix' -d 'Name prefix shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" ssm-prefix' -l 'ssm-prefix' -d 'ssm: parameter path shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" json-fields' -l 'json-fields' -d 'raw: a JSON SecretString is one file; expand: a folder of fields.' -rfka 'raw expand'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" backend-timeout' -l 'backend-timeout' -d 'Deadline of each backend call (default 5s).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" log-level' -l 'log-level' -d 'trace, debug, info, notice, warning, error or critical (default error; mount: info).' -rfka 'trace debug info notice warning error critical'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" log-format' -l 'log-format' -d 'text or json.' -rfka 'text json'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs health" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs status" json' -l 'json' -d 'Print the JSON as it is.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs status" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs reload" timeout' -l 'timeout' -d 'How long to wait for the new worker to take over (default 30s).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs reload" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store" h help' -s 'h' -l 'help' -d 'Show help information.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_positional "secretsfs store" -eq 1' -fa 'encrypt' -d 'Encrypt a plain local store in place with the key of --store-key-file, in one transaction.'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" config' -l 'config' -d 'YAML file whose keys are these flags\' names (env: SECRETSFS_CONFIG; flags and environment win).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" backend' -l 'backend' -d 'Backend: local, env, vault, aws or ssm (env: SECRETSFS_BACKEND; default local).' -rfka 'local env vault aws ssm'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" store' -l 'store' -d 'Local store file (env: SECRETSFS_STORE; default $XDG_DATA_HOME/secretsfs/secrets.db).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" store-key-file' -l 'store-key-file' -d 'File holding the 32-byte key that encrypts the local store\'s values (raw, base64 or hex) (env: SECRETSFS_STORE_KEY_FILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" env-prefix' -l 'env-prefix' -d 'env: only variables with this prefix are shown.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt"' -l 'env-include' -d 'env: also show variables matching this glob (repeatable).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-addr' -l 'vault-addr' -d 'Vault address (env: VAULT_ADDR).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-token-file' -l 'vault-token-file' -d 'File holding the Vault token (else VAULT_TOKEN, else ~/.vault-token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-namespace' -l 'vault-namespace' -d 'Vault namespace (env: VAULT_NAMESPACE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-mount' -l 'vault-mount' -d 'KV v2 mount (default secret).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-kv-version' -l 'vault-kv-version' -d 'KV engine version of the mount, 1 or 2 (default asked of Vault).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-prefix' -l 'vault-prefix' -d 'Sub-path of the KV mount shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-auth' -l 'vault-auth' -d 'Vault auth: token, approle, jwt or kubernetes.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-role-id' -l 'vault-role-id' -d 'AppRole role id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-secret-id-file' -l 'vault-secret-id-file' -d 'File holding the AppRole secret id.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-role' -l 'vault-role' -d 'Role for jwt and kubernetes auth.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-jwt-file' -l 'vault-jwt-file' -d 'File holding the JWT (kubernetes: the service-account token).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-auth-mount' -l 'vault-auth-mount' -d 'Mount path of the auth method.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-cacert' -l 'vault-cacert' -d 'CA certificate file for Vault\'s TLS (env: VAULT_CACERT).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" vault-skip-verify' -l 'vault-skip-verify' -d 'Do not verify Vault\'s TLS certificate (env: VAULT_SKIP_VERIFY).'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" aws-region' -l 'aws-region' -d 'AWS region (env: AWS_REGION, AWS_DEFAULT_REGION).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" aws-endpoint' -l 'aws-endpoint' -d 'Secrets Manager or SSM endpoint (env: AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL; ssm: AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" aws-profile' -l 'aws-profile' -d 'Shared config profile (env: AWS_PROFILE).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" aws-prefix' -l 'aws-prefix' -d 'Name prefix shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" ssm-prefix' -l 'ssm-prefix' -d 'ssm: parameter path shown at the root.' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" json-fields' -l 'json-fields' -d 'raw: a JSON SecretString is one file; expand: a folder of fields.' -rfka 'raw expand'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" backend-timeout' -l 'backend-timeout' -d 'Deadline of each backend call (default 5s).' -rfka ''
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" log-level' -l 'log-level' -d 'trace, debug, info, notice, warning, error or critical (default error; mount: info).' -rfka 'trace debug info notice warning error critical'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" log-format' -l 'log-format' -d 'text or json.' -rfka 'text json'
complete -c 'secretsfs' -n '__secretsfs_should_offer_completions_for_flags_or_options "secretsfs store encrypt" h help' -s 'h' -l 'help' -d 'Show help information.'

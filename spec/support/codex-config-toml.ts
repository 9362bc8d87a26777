// A complete config.toml as a Codex 0.169 user has it: all 15 [memories] keys, a custom provider with
// env_key and wire_api, profiles, and the tables this tool has no use for but must load.
export const CORP_KEY_VAR = 'CORP_GATEWAY_KEY';

export function codex0169Config(urls: { corp: string; local: string }): string {
  return `model = "gpt-5.5"
model_provider = "corp"
model_reasoning_effort = "high"
approval_policy = "on-request"
sandbox_mode = "workspace-write"
notify = ["notify-send", "codex"]

[model_providers.corp]
name = "Corp gateway"
base_url = "${urls.corp}"
env_key = "${CORP_KEY_VAR}"
wire_api = "responses"
query_params = { "api-version" = "2026-10-01" }
http_headers = { "X-Team" = "platform" }
env_http_headers = { "X-Trace-Id" = "CORP_TRACE_ID" }
request_max_retries = 4
stream_idle_timeout_ms = 300000

[model_providers.local-chat]
name = "Local chat server"
base_url = "${urls.local}"
wire_api = "chat"
http_headers = { "X-Provider" = "local-chat" }

[profiles.local]
model = "qwen3"
model_provider = "local-chat"
approval_policy = "never"

[profiles.local.features]
memories = false

[profiles.deep]
model = "gpt-5.5"
model_reasoning_effort = "xhigh"

[projects."/home/dev/src/app"]
trust_level = "trusted"

[features]
memories = true
web_search_request = true

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp-server"]

[mcp_servers.docs.env]
DOCS_TOKEN = "not-a-secret"

[tui]
notifications = true

[history]
persistence = "save-all"

[shell_environment_policy]
inherit = "core"

[sandbox_workspace_write]
network_access = false

[memories]
version = "v1"
dual_write = false
generate_memories = false
use_memories = true
dedicated_tools = false
disable_on_external_context = true
max_raw_memories_for_consolidation = 256
max_unused_days = 30
max_rollout_age_days = 30
max_rollouts_per_startup = 16
min_rollout_idle_hours = 6
min_rate_limit_remaining_percent = 25
extract_model = "corp-extract"
consolidation_model = "corp-consolidate"
consolidation_service_tier = "flex"
`;
}

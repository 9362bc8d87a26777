// The CLI's way in: settings from the environment and config.toml's [otel]; with nothing configured, no
// telemetry and not one OpenTelemetry module loaded. Otherwise the SDK is imported and set up.
import type { OtelFileConfig } from '../config/otel-config.ts';
import { resolveTelemetrySettings, telemetryConfigured } from './settings.ts';
import type { Telemetry } from './telemetry.ts';

export interface TelemetryOptions {
  otel: OtelFileConfig | null;
  /** `watch --metrics-port` (and --metrics-host). */
  prometheus?: { host: string; port: number } | null;
  env?: NodeJS.ProcessEnv;
  /** Told about [otel] settings that have no effect here. */
  notice?(line: string): void;
}

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry | undefined> {
  const env = options.env ?? process.env;
  const settings = resolveTelemetrySettings({ env, otel: options.otel, prometheus: options.prometheus });
  for (const key of settings.ignored) options.notice?.(`config.toml ${key} is read and ignored`);
  if (!telemetryConfigured(settings)) return undefined;
  const { createTelemetry } = await import('./sdk.ts');
  return createTelemetry(settings, env);
}

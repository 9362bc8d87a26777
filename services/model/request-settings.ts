// The request settings Codex sends per phase (reasoning effort, text verbosity, the consolidation agent's
// marker headers), and what a Responses server has refused of them, so that one client stops sending it.
import { APIError } from 'openai';
import type { ResponseCreateParamsBase } from 'openai/resources/responses/responses';
import type { ReasoningEffort } from 'openai/resources/shared';

export type { ReasoningEffort };
export type Verbosity = 'low' | 'medium' | 'high' | null;

/** Options of `createModelClient`; `null` leaves the field out of every request. */
export interface RequestSettings {
  /** Phase 1 (stage-1 extraction). Codex: `low`. */
  extractReasoningEffort?: ReasoningEffort;
  /** Phase 1's `text.verbosity`. Codex: `low`. */
  extractVerbosity?: Verbosity;
  /** Phase 2 (the consolidation agent). Codex: `medium`. */
  consolidationReasoningEffort?: ReasoningEffort;
}

/** What Codex 0.169 sends (codex-observed §3.2, §3.3). */
export const CODEX_REQUEST_SETTINGS: Required<RequestSettings> = {
  extractReasoningEffort: 'low',
  extractVerbosity: 'low',
  consolidationReasoningEffort: 'medium',
};

/**
 * Codex marks the consolidation agent's requests as a sub-agent's and as memory generation, so a provider's logs
 * can tell them from the user's own turns. Phase-1 requests carry neither, in Codex as here.
 */
export const CONSOLIDATION_HEADERS: Readonly<Record<string, string>> = {
  'x-openai-subagent': 'memory_consolidation',
  'x-openai-memgen-request': 'true',
};

/** The settings of one request: an effort and, for phase 1, a verbosity. */
export interface PhaseSettings {
  effort: ReasoningEffort;
  verbosity: Verbosity;
}

/**
 * The settings a Responses server refused, learnt from its 400 and kept for the client's lifetime.
 *
 * Why learn instead of asking the user: a non-reasoning model (or an OpenAI-compatible server that validates
 * its body) answers a request carrying `reasoning` or `text.verbosity` with a 400 naming the parameter, and
 * would do so for every request of the run. Dropping the named setting and sending the same request once more
 * keeps Codex's settings wherever they are accepted, costs one extra request per refused setting per client,
 * and cannot loop: each retry needs a setting newly dropped. This is reshaping a request, not retrying a
 * failure, so it stays here rather than in the machines' retry policy.
 */
export class RefusedSettings {
  reasoning = false;
  verbosity = false;

  /** True when `error` refuses a setting not dropped yet; it is dropped, and the caller sends once more. */
  learn(error: unknown): boolean {
    // FastAPI-based servers (vLLM and others) answer a body they cannot validate with 422.
    if (!(error instanceof APIError) || (error.status !== 400 && error.status !== 422)) return false;
    const body = error.error as { message?: unknown; param?: unknown } | undefined;
    const said = `${String(error.param ?? body?.param ?? '')} ${String(body?.message ?? error.message)}`.toLowerCase();
    let learnt = false;
    if (!this.verbosity && said.includes('verbosity')) [this.verbosity, learnt] = [true, true];
    // `reasoning.effort`, `include: reasoning.encrypted_content`, or a reasoning item passed back: all go together.
    if (!this.reasoning && said.includes('reasoning')) [this.reasoning, learnt] = [true, true];
    return learnt;
  }
}

/** The Responses fields for `effort`: `reasoning`, and `include` so that reasoning can be passed back unstored. */
export function reasoningFields(
  effort: ReasoningEffort,
  refused: RefusedSettings,
): Pick<ResponseCreateParamsBase, 'reasoning' | 'include'> {
  if (effort === null || refused.reasoning) return {};
  return { reasoning: { effort }, include: ['reasoning.encrypted_content'] };
}

/** The `text.verbosity` field for `verbosity`, to merge into `text`. */
export function verbosityField(verbosity: Verbosity, refused: RefusedSettings): { verbosity?: Verbosity } {
  return verbosity === null || refused.verbosity ? {} : { verbosity };
}

/** Every setting, Codex's where `given` has none; an explicit `null` stays (it leaves the field out). */
export function resolveSettings(given: RequestSettings): Required<RequestSettings> {
  const pick = <K extends keyof RequestSettings>(key: K): Required<RequestSettings>[K] =>
    given[key] === undefined ? CODEX_REQUEST_SETTINGS[key] : (given[key] as Required<RequestSettings>[K]);
  return {
    extractReasoningEffort: pick('extractReasoningEffort'),
    extractVerbosity: pick('extractVerbosity'),
    consolidationReasoningEffort: pick('consolidationReasoningEffort'),
  };
}

/** Phase 1's share of the settings. */
export const extractSettings = (settings: Required<RequestSettings>): PhaseSettings => ({
  effort: settings.extractReasoningEffort,
  verbosity: settings.extractVerbosity,
});

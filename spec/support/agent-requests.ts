// Reads what the consolidation agent sent back to the model: tool results, whichever wire; and a tool to call.
import type { AgentTool } from '../../services/consolidation/agent-loop.ts';

/** A tool that answers 'noted': what a scripted agent calls when a spec only needs a tool round trip. */
export const noteTool: AgentTool = {
  name: 'note',
  description: 'Take a note.',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  execute: async () => 'noted',
};

export function isAgentRequest(body: { tools?: unknown[] }): boolean {
  return Array.isArray(body.tools) && body.tools.length > 0;
}

/** The tool outputs the request carries, in order. */
export function toolOutputs(body: any): string[] {
  if (Array.isArray(body.messages)) {
    return body.messages.filter((m: any) => m?.role === 'tool').map((m: any) => String(m.content));
  }
  if (Array.isArray(body.input)) {
    return body.input.filter((i: any) => i?.type === 'function_call_output').map((i: any) => String(i.output));
  }
  return [];
}

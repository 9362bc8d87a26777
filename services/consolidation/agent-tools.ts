// The agent's only way to touch the disk: six file tools confined to the memory root. Deliberately no shell
// and no network: its input comes from untrusted transcripts, so its reach must be exactly the memory folder.
import { z } from 'zod';
import { applyPatch } from './apply-patch.ts';
import { deleteFile, editFile, listDir, readFile, writeFile } from './file-tools.ts';
import type { ToolContext } from './sandbox-io.ts';
import { SandboxViolation } from './sandbox-path.ts';

export interface AgentTool {
  name: string;
  description: string;
  /** JSON schema of the arguments object, as function-calling APIs expect. */
  parameters: object;
  /** Runs the tool. Errors are thrown with a message meant for the model. */
  execute(args: unknown): Promise<string>;
}

export interface MemoryToolOptions {
  /** Most bytes read_file returns in one call (default 64 KiB); the rest is paged with offset. */
  maxReadBytes?: number;
  /** Largest content write_file / edit_file / apply_patch may produce for one file (default 1 MiB). */
  maxWriteBytes?: number;
  /** Told about every refused escape attempt, e.g. to log a prompt-injection signal. */
  onViolation?(tool: string, path: string, reason: string): void;
}

// Node's errno messages name absolute paths, which the model must not see; these say it plainly.
const ERRNO_TEXT = new Map([
  ['ENOENT', 'no such file or directory'],
  ['ENOTDIR', 'a component of the path is a file, not a directory'],
  ['EEXIST', 'a component of the path is a file, not a directory'], // mkdir, when a parent is a file
  ['EISDIR', 'the path is a directory'],
  ['EACCES', 'permission denied'],
  ['EPERM', 'permission denied'],
  ['ENAMETOOLONG', 'a name in the path is too long'],
  ['ELOOP', 'a symlink is on the path'],
]);

export function createMemoryTools(root: string, opts: MemoryToolOptions = {}): AgentTool[] {
  const ctx: ToolContext = {
    root,
    maxReadBytes: opts.maxReadBytes ?? 64 * 1024,
    maxWriteBytes: opts.maxWriteBytes ?? 1024 * 1024,
  };
  return [listDir, readFile, writeFile, editFile, applyPatch, deleteFile].map((spec) => ({
    name: spec.name,
    description: spec.description,
    parameters: jsonSchemaOf(spec.schema),
    async execute(raw: unknown) {
      const args = parseArgs(spec.name, spec.schema, raw);
      try {
        return await spec.run(ctx, args);
      } catch (error) {
        if (error instanceof SandboxViolation) opts.onViolation?.(spec.name, error.requested, error.reason);
        throw toolError(error, spec.name, args);
      }
    },
  }));
}

function parseArgs(tool: string, schema: z.ZodType, raw: unknown): unknown {
  let value = raw ?? {};
  // Function-calling APIs hand over arguments as a JSON string; accept both forms.
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value === '' ? '{}' : value);
    } catch {
      throw new Error(`invalid arguments for ${tool}: not valid JSON`);
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ');
    throw new Error(`invalid arguments for ${tool}: ${detail}`);
  }
  return result.data;
}

function jsonSchemaOf(schema: z.ZodType): object {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
  return rest;
}

/** Our own errors name only the path the model gave; a system error is rephrased without its path. */
function toolError(error: unknown, tool: string, args: unknown): Error {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (error instanceof Error && typeof code !== 'string') return error;
  const requested = (args as { path?: unknown }).path;
  const where = `${tool}${typeof requested === 'string' ? ` ${JSON.stringify(requested)}` : ''}`;
  return new Error(`${where}: ${ERRNO_TEXT.get(code ?? '') ?? `failed (${code ?? String(error)})`}`);
}

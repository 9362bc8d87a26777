// The repository's own folder inside the memory root: never part of a snapshot, a diff, or the agent's sandbox.
// Alone in its file so the sandbox can name it without loading the git library.
export const GIT_DIR = '.git';

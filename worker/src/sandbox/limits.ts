/** Hard limits of one agent sandbox run (a sub-agent call gets a sandbox of its own). */
export interface SandboxLimits {
  /** QuickJS heap limit of the run's runtime. */
  memoryBytes: number;
  /** QuickJS stack limit (deep recursion fails instead of overflowing the host). */
  stackBytes: number;
  /** fetch, llm.chat and callAgent calls allowed in one run; the next one ends the run. */
  maxHostCalls: number;
  /** Output bytes allowed (after UTF-8 or JSON encoding). */
  maxOutputBytes: number;
  /** Lines ctx.log may write; further lines are dropped. */
  maxLogLines: number;
  /** A longer log line is cut to this many characters. */
  maxLogLineBytes: number;
}

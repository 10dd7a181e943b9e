/** A record the pipeline could not process, with where and why. Never dropped silently. */
export interface DeadLetter {
  /** Node id ('source' for parse errors of the input). */
  stage: string;
  reason: string;
  /** The record (or, for unparsable input, the start of the raw line). */
  record: unknown;
  /** 1-based line in the source file, when the source is a file. */
  line?: number;
}

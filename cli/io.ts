/** Where the command writes; injectable so tests capture output. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

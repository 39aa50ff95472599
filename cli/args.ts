/**
 * Command-line arguments of each `cdktf-tailnet` command: `-h`/`--help` anywhere before `--`
 * asks for the command's usage; an unknown option, an option without its value, or a value given
 * to a flag is a usage error naming the option, shown with the command's usage (never Node's
 * own parser message).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** The options of one command, as node:util parseArgs takes them. */
export type Options = NonNullable<ParseArgsConfig["options"]>;

/** A command: its name as typed (`render`, `lab down`), its usage text, and its options. */
export interface CommandSpec<O extends Options> {
  readonly name: string;
  readonly usage: string;
  readonly options: O;
}

/** A mistake on the command line; main.ts prints it with the command's usage and exits 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The usage of the command the mistake was made in (the whole CLI's when undefined). */
    readonly usage?: string,
    /** The command (`render`, `lab down`), for the message's prefix. */
    readonly command?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** `--help` or `-h` was given: main.ts prints `usage` and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super("help requested");
    this.name = "HelpRequested";
  }
}

/** What parseCommand returns: the values of `O`'s options, and the positional arguments. */
export type ParsedCommand<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/** Parses `args` for `command`; throws HelpRequested or UsageError. */
export function parseCommand<const O extends Options>(command: CommandSpec<O>, args: string[]): ParsedCommand<O> {
  const end = args.indexOf("--");
  if ((end < 0 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h")) throw new HelpRequested(command.usage);
  const mistake = (message: string) => new UsageError(message, command.usage, command.name);
  const { tokens } = parseArgs({ args, options: command.options, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const option = command.options[token.name];
    if (!option) throw mistake(`unknown option ${token.rawName}`);
    if (option.type === "boolean" && token.value !== undefined) throw mistake(`${token.rawName} takes no value, got ${JSON.stringify(token.value)}`);
    if (option.type === "string") {
      const dashValue = token.inlineValue === false && token.value?.startsWith("-");
      if (token.value === undefined || dashValue) {
        throw mistake(
          `${token.rawName} needs a value${dashValue ? `, got the option ${token.value} (write ${token.rawName}=<value> for a value that starts with -)` : ""}`,
        );
      }
    }
  }
  return parseArgs({ args, options: command.options, allowPositionals: true, strict: true });
}

/** Throws a usage error unless exactly `count` positional arguments were given. */
export function expectPositionals(command: CommandSpec<Options>, positionals: readonly string[], what: string[]): void {
  if (positionals.length === what.length) return;
  const wanted = what.length === 0 ? "no arguments" : what.length === 1 ? `exactly one ${what[0]}` : what.join(" and ");
  const got = positionals.length === 0 ? "none" : positionals.join(" ");
  throw new UsageError(`expected ${wanted}, got ${got}`, command.usage, command.name);
}

import { pino, type Logger, type LevelWithSilent, type DestinationStream } from "pino";

export type { Logger };

/** JSON logs on stdout (or `destination`), one line per event, with the component in `name`. */
export function createLogger(level: LevelWithSilent = "info", destination?: DestinationStream): Logger {
  const options = { name: "bridge", level, base: { pid: process.pid } };
  return destination ? pino(options, destination) : pino(options);
}

// What every scene of the demo shares: the narrator, the clock, the temporary folder, and the list of
// steps whose outcomes make the demo's verdict.
import type { CommandContext } from '../../command.ts';
import type { Output } from '../../output.ts';

export type Step = { name: string; ok: boolean; detail?: unknown };

export class DemoRun {
  readonly ctx: CommandContext;
  readonly out: Output;
  /** The temporary folder everything is made in; removed at the end. */
  readonly work: string;
  /** One instant for the whole run: every signature, check and record is made at it. */
  readonly now: Date;
  readonly steps: Step[] = [];
  #n = 0;

  constructor(ctx: CommandContext, work: string, now: Date) {
    this.ctx = ctx;
    this.out = ctx.out;
    this.work = work;
    this.now = now;
  }

  /** Narrates the next step. */
  step(text: string): void {
    this.out.info(`\n${this.out.paint('bold', `Step ${++this.#n}:`)} ${text}`);
  }

  /** Counts a step's outcome towards the verdict. */
  record(name: string, ok: boolean, detail?: unknown): void {
    this.steps.push(detail === undefined ? { name, ok } : { name, ok, detail });
  }

  get ok(): boolean {
    return this.steps.every((s) => s.ok);
  }

  /** A refusal as the demo shows it; `unexpected` when it was accepted instead. */
  refusal(result: { ok: boolean; error?: { message: string; code: string } | undefined }, unexpected: string): string {
    return result.ok
      ? `  unexpected: ${unexpected}`
      : `  ${this.out.paint('red', 'Refused')}: ${result.error?.message} [${result.error?.code}]`;
  }
}

// Every command the CLI knows, in the order `airlock --help` lists them.
import type { Command } from '../command.ts';
import { demoCommand } from './demo.ts';
import { doctorCommand } from './doctor.ts';

export const COMMANDS: readonly Command[] = [demoCommand, doctorCommand];

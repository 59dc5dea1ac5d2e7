// Every command the CLI knows, in the order `airlock --help` lists them.
import type { Command } from '../command.ts';
import { demoCommand } from './demo.ts';
import { auditExportCommand, auditShowCommand, auditVerifyCommand } from './audit.ts';
import { doctorCommand } from './doctor.ts';
import { attestCommand, copyCommand, imageInspectCommand, signCommand, verifyAttestationCommand, verifyCommand } from './image.ts';
import { keyGenerateCommand, keyPublicCommand } from './key.ts';
import { logServeCommand } from './log.ts';
import { logGetCommand, logInfoCommand, logVerifyCommand, logWitnessCommand } from './log-client.ts';
import { attestBlobCommand, signBlobCommand } from './sign-blob.ts';
import { approveCommand, importCommand, inspectCommand, packCommand } from './transfer.ts';
import { trustImportCommand, trustMirrorCommand, trustStatusCommand } from './trust.ts';
import { trustCreateCommand, trustShowCommand } from './trust-create.ts';
import { verifyBlobCommand } from './verify-blob.ts';

export const COMMANDS: readonly Command[] = [
  demoCommand,
  keyGenerateCommand,
  keyPublicCommand,
  signBlobCommand,
  attestBlobCommand,
  verifyBlobCommand,
  copyCommand,
  signCommand,
  attestCommand,
  verifyCommand,
  verifyAttestationCommand,
  imageInspectCommand,
  packCommand,
  approveCommand,
  inspectCommand,
  importCommand,
  trustMirrorCommand,
  trustImportCommand,
  trustStatusCommand,
  trustCreateCommand,
  trustShowCommand,
  logServeCommand,
  logInfoCommand,
  logGetCommand,
  logVerifyCommand,
  logWitnessCommand,
  auditShowCommand,
  auditVerifyCommand,
  auditExportCommand,
  doctorCommand,
];

#!/usr/bin/env node
// npm `bin` entry. Node >= 24 runs airlock's TypeScript sources directly (type stripping). The compile
// cache keeps the V8 bytecode of airlock and its dependencies between runs: start-up is a large part
// of a short command's time.
import module from 'node:module';

module.enableCompileCache?.();
await import('../src/cli/bin.ts');

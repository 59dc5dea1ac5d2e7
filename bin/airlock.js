#!/usr/bin/env node
// npm `bin` entry. Node >= 24 runs airlock's TypeScript sources directly (type stripping).
import '../src/cli/bin.ts';

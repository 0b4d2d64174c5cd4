#!/usr/bin/env node
// The `probex` command (after `npm link`, or `npx probex` inside the repo): runs the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/probex.ts');

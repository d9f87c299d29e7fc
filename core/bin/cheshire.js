#!/usr/bin/env node
// Launcher for `npx cheshire`: registers tsx's loader in this process and runs the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');

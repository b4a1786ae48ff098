// An express application that embeds onecast, and lets only its own users stream:
//
//   POST /login {"user": "alice"}  →  {"token": "<JWT>"}
//
// The JWT, signed with the application's secret (which onecast is given as jwtSecret),
// lets alice publish to the room "alice" and watch every room, for an hour. OBS takes
// it as its Bearer Token; the pages take it in their Token field. Everything else of
// onecast (WHIP, WHEP, the API, recordings, the pages at /, /whip/, /whep/) is mounted at
// the root of the same application.
//
//   APP_JWT_SECRET=$(openssl rand -base64 32) npx tsx examples/embed/server.ts
//
// PORT (default 3000) is the application's HTTP port; UDP_PORT and PUBLIC_IPS are
// onecast's settings of the same names. Outside this repository, import from 'onecast'
// just the same (npm install onecast).
import { randomBytes } from 'node:crypto';
import express from 'express';
import { SignJWT } from 'jose';
import { createServer } from 'onecast';

/** onecast's room-name rule: a user name is also the name of the user's room. */
const USER_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const TOKEN_LIFETIME = '1h';

async function main(): Promise<void> {
  // HS256 wants 32 bytes or more; a random one serves until the application restarts.
  const secret = process.env['APP_JWT_SECRET'] ?? randomBytes(32).toString('base64url');
  const onecast = await createServer({
    // The application listens; onecast only answers what is mounted below.
    listen: false,
    jwtSecret: secret,
    ...(process.env['UDP_PORT'] !== undefined ? { udpPort: Number(process.env['UDP_PORT']) } : {}),
    ...(process.env['PUBLIC_IPS'] !== undefined ? { publicIps: process.env['PUBLIC_IPS'].split(',') } : {}),
    log: 'warn',
  });
  onecast.on('publish', (e) => console.log(`${e.room} is live`));
  onecast.on('unpublish', (e) => console.log(`${e.room} ended (${e.reason})`));

  const app = express();
  // A real application checks a password or a session here; the example trusts the name.
  app.post('/login', express.json(), async (req, res) => {
    const user: unknown = (req.body as { user?: unknown } | undefined)?.user;
    if (typeof user !== 'string' || !USER_NAME.test(user)) {
      res.status(400).json({ error: 'user must be 1-64 characters of A-Z a-z 0-9 _ -' });
      return;
    }
    const token = await new SignJWT({ onecast: { publish: [user], play: ['*'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user)
      .setExpirationTime(TOKEN_LIFETIME)
      .sign(new TextEncoder().encode(secret));
    res.json({ token, publish: `/whip/${user}`, watch: `/whep/?room=${user}` });
  });
  // At the root: onecast's responses name absolute paths (Location, links, the pages' own).
  // Mounted after the application's routes, it answers only what they did not take.
  app.use(onecast.handler);

  const port = Number(process.env['PORT'] ?? 3000);
  const server = app.listen(port, () => console.log(`listening on http://localhost:${port}/ (media on UDP ${onecast.udpPort})`));
  process.on('SIGTERM', () => {
    server.close();
    void onecast.close().then(() => process.exit(0));
  });
}

void main();

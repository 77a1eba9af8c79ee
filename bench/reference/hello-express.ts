import express from 'express';

/** Reference: Express 5's own hello world, the yardstick every ratio in the report is taken against. */
const app = express();
app.get('/', (_req, res) => {
  res.send('Hello World!');
});
const server = app.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));

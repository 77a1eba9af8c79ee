import { join } from 'node:path';
import express, { Router } from 'express';

/**
 * The operator's console: a page and plain ES modules, served as they are (no bundler). They
 * sit beside this module's compiled output too, where `npm run build` copies them (copy-assets.js).
 */
export const CONSOLE_ASSETS = join(__dirname, 'public');

/** Mounted at /console; /console itself redirects to /console/ so the page's relative module URLs resolve. */
export function consoleRouter(): Router {
  const router = Router();
  router.use(express.static(CONSOLE_ASSETS, { index: 'index.html', redirect: true }));
  return router;
}

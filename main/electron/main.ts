import * as electron from 'electron';
import { createEngine } from '../../engine/engine';
import { prepareHome } from '../../engine/paths';
import { startElectronApp } from './app';

// The Electron entry (package.json "main": dist/electron/main.cjs). Everything it does is in
// app.ts, behind the parts of `electron` it uses, so it is unit-tested without Electron.
// Its `ready` never rejects (a failure on the way up gets an error box that says what to do), so
// nothing here waits for it.
prepareHome(process.env);
startElectronApp(electron, { electronDir: __dirname, env: process.env, createEngine });

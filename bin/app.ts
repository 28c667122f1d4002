#!/usr/bin/env node
/**
 * CDK app entry: `npx cdk synth` / `npx cdk deploy`. The environment name comes from the
 * `fleetwire:env` context (cdk.json, or `-c fleetwire:env=prod`).
 */
import { App } from 'aws-cdk-lib';
import { buildFleetwireApp } from '../lib/fleetwire-app.js';

const app = new App();
buildFleetwireApp(app);
app.synth();

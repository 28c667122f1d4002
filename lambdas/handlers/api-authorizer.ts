/**
 * The HTTP API's Lambda authorizer (payload 2.0, simple responses): `Authorization: Bearer <credential>`
 * where the credential is an API key (`fwk.<keyId>.<secret>`, checked against the hashed keys in the API
 * table) or a Cognito ID token (signature, issuer, expiry, audience; `custom:tenant` and `cognito:groups`).
 * On success the context `{tenant, role, subject}` reaches the API function. API Gateway caches the answer
 * per Authorization header for the TTL set in the CDK, so revocation takes effect within that TTL.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClient } from '../adapters/aws/clients.js';
import { cognitoJwtAuthenticator } from '../adapters/aws/cognito-jwt.js';
import { DynamoDbApiStores } from '../adapters/aws/dynamodb-api-stores.js';
import { apiKeyAuthenticator, firstOf } from '../api/auth.js';
import type { Authenticator } from '../ports/api-keys.js';
import { type AuthorizerEvent, type AuthorizerResult, authorize } from './api-authorizer-core.js';
import { loadAuthorizerConfig } from './api-config.js';

const config = loadAuthorizerConfig(process.env);
const logger = new Logger({ serviceName: 'fleetwire-api-authorizer' });
const stores = new DynamoDbApiStores(createDynamoDbClient(), { tableName: config.apiTable });
const authenticators: Authenticator[] = [apiKeyAuthenticator(stores.apiKeys)];
if (config.cognito)
  authenticators.push(cognitoJwtAuthenticator({ region: config.region, ...config.cognito }));
const authenticator = firstOf(...authenticators);

async function handle(event: AuthorizerEvent): Promise<AuthorizerResult> {
  const result = await authorize(authenticator, event);
  // Never log the credential; the subject is a key id or a user sub.
  logger.info('authorize', { authorized: result.isAuthorized, subject: result.context?.subject });
  return result;
}

/** Lambda entry point. */
export const handler = middy(handle).use(injectLambdaContext(logger, { logEvent: false }));

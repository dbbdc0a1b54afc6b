export { createRedis, pingRedis, redactUrl, type RedisClient } from './client.js';
export { keySchema, type KeySchema } from './keys.js';
export { startLocalRedis, type LocalRedis, type LocalRedisOptions } from './local-server.js';

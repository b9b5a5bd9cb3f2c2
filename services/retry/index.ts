export { backoffDelay, type BackoffPolicy, type Jitter } from './backoff.js';
export { isRetriable, retriableStatus } from './retriable.js';
export { retry, RetryAborted, NotTransient, type RetryOptions, type FailedAttempt } from './retry.js';
export { postOnce, parseRetryAfter, HttpFailure, type PostOptions, type Posted } from './http.js';

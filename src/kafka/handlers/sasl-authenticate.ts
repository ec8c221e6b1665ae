// SaslAuthenticate: one step of the SASL exchange the handshake started (v1+ also gives the session
// lifetime of KIP-368). On a listener without SASL, ILLEGAL_SASL_STATE.
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readSaslAuthenticateRequest, writeSaslAuthenticateResponse, type SaslAuthenticateRequest, type SaslAuthenticateResponse } from '../../protocol/generated/sasl-authenticate.ts'
import { defineHandler } from '../handler.ts'

export const saslAuthenticate = defineHandler<SaslAuthenticateRequest, SaslAuthenticateResponse>({
  apiKey: ApiKey.SaslAuthenticate,
  name: 'SaslAuthenticate',
  minVersion: 0,
  maxVersion: 2,
  read: readSaslAuthenticateRequest,
  write: writeSaslAuthenticateResponse,
  handle(request, context) {
    if (context.sasl === null) {
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'this listener does not use SASL', authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 }
    }
    return context.sasl.authenticate(request.authBytes)
  },
})

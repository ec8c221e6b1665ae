// SaslHandshake: the client names its SASL mechanism; the answer lists the enabled ones. On a listener
// without SASL, or out of turn, ILLEGAL_SASL_STATE (as Kafka answers).
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readSaslHandshakeRequest, writeSaslHandshakeResponse, type SaslHandshakeRequest, type SaslHandshakeResponse } from '../../protocol/generated/sasl-handshake.ts'
import { defineHandler } from '../handler.ts'

export const saslHandshake = defineHandler<SaslHandshakeRequest, SaslHandshakeResponse>({
  apiKey: ApiKey.SaslHandshake,
  name: 'SaslHandshake',
  minVersion: 0,
  maxVersion: 1,
  read: readSaslHandshakeRequest,
  write: writeSaslHandshakeResponse,
  handle(request, context) {
    if (context.sasl === null) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] }
    return context.sasl.handshake(request.mechanism, context.apiVersion)
  },
})

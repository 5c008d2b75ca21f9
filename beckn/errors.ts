/**
 * Beckn error codes (BECKN-005, the codes a BPP returns). CACO's uses:
 * 30000 schema (with the path), 30004 unknown item, 40002 more kW than available,
 * 40003 stale quote, 50001 cancel after the gate, 30013 update outside `update_target`;
 * authentication failures are HTTP 401 with a NACK (BECKN-006) and code 401.
 */
export const BecknErrorCode = {
  INVALID_REQUEST: '30000',
  PROVIDER_NOT_FOUND: '30001',
  PROVIDER_LOCATION_NOT_FOUND: '30002',
  PROVIDER_CATEGORY_NOT_FOUND: '30003',
  ITEM_NOT_FOUND: '30004',
  CATEGORY_NOT_FOUND: '30005',
  OFFER_NOT_FOUND: '30006',
  ADD_ON_NOT_FOUND: '30007',
  FULFILLMENT_UNAVAILABLE: '30008',
  FULFILMENT_PROVIDER_UNAVAILABLE: '30009',
  ORDER_NOT_FOUND: '30010',
  INVALID_CANCELLATION_REASON: '30011',
  INVALID_UPDATE_TARGET: '30012',
  UPDATE_INCONSISTENCY: '30013',
  ENTITY_TO_RATE_NOT_FOUND: '30014',
  INVALID_RATING_VALUE: '30015',
  BUSINESS_ERROR: '40000',
  ACTION_NOT_APPLICABLE: '40001',
  ITEM_QUANTITY_UNAVAILABLE: '40002',
  QUOTE_UNAVAILABLE: '40003',
  PAYMENT_NOT_SUPPORTED: '40004',
  TRACKING_NOT_SUPPORTED: '40005',
  FULFILMENT_AGENT_UNAVAILABLE: '40006',
  POLICY_ERROR: '50000',
  CANCELLATION_NOT_POSSIBLE: '50001',
  UPDATION_NOT_POSSIBLE: '50002',
  UNSUPPORTED_RATING_CATEGORY: '50003',
  SUPPORT_UNAVAILABLE: '50004',
  UNAUTHORIZED: '401',
} as const;

export type BecknErrorCode = (typeof BecknErrorCode)[keyof typeof BecknErrorCode];

/** The short message BECKN-005 gives each code. */
export const BECKN_ERROR_MESSAGES: Readonly<Record<BecknErrorCode, string>> = {
  '30000': 'Invalid request error',
  '30001': 'Provider not found',
  '30002': 'Provider location not found',
  '30003': 'Provider category not found',
  '30004': 'Item not found',
  '30005': 'Category not found',
  '30006': 'Offer not found',
  '30007': 'Add on not found',
  '30008': 'Fulfillment unavailable',
  '30009': 'Fulfilment provider unavailable',
  '30010': 'Order not found',
  '30011': 'Invalid cancellation reason',
  '30012': 'Invalid update_target',
  '30013': 'Update inconsistency',
  '30014': 'Entity to rate not found',
  '30015': 'Invalid rating value',
  '40000': 'Business Error',
  '40001': 'Action not applicable',
  '40002': 'Item quantity unavailable',
  '40003': 'Quote unavailable',
  '40004': 'Payment not supported',
  '40005': 'Tracking not supported',
  '40006': 'Fulfilment agent unavailable',
  '50000': 'Policy Error',
  '50001': 'Cancellation not possible',
  '50002': 'Updation not possible',
  '50003': 'Unsupported rating category',
  '50004': 'Support unavailable',
  '401': 'Unauthorized',
};

/** A refusal as a value: what the NACK (or the callback's `error`) will say. */
export interface BecknFault {
  readonly code: BecknErrorCode;
  readonly message: string;
  /** Path of the offending field, like `message.order.items[0].id`. */
  readonly path?: string;
}

export function fault(code: BecknErrorCode, detail?: string, path?: string): BecknFault {
  const message = detail ? `${BECKN_ERROR_MESSAGES[code]}: ${detail}` : BECKN_ERROR_MESSAGES[code];
  return path === undefined ? { code, message } : { code, message, path };
}

import { Schema } from 'effect';

/**
 * A struct that tolerates keys it does not declare. The providers add fields over time, and a
 * new field we never read must not take the grid agent down; the fields we do read are still
 * checked strictly. (`decodeWith` rejects excess keys, so the tolerance has to live in the schema.)
 */
export function openStruct<const F extends Schema.Struct.Fields>(fields: F) {
  return Schema.StructWithRest(Schema.Struct(fields), [Schema.Record(Schema.String, Schema.Unknown)]);
}

/** Resource ids are server-assigned UUIDs (RFC 7643 §3.1 leaves the form to the provider; crypto.randomUUID here). */
export const RESOURCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isResourceId = (id: string): boolean => RESOURCE_ID.test(id);

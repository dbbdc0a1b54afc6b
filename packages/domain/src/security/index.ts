export { classifyAddress, isSpecialAddress, SPECIAL_ADDRESS_CLASSES, type AddressClass } from './addresses.js';
export { NO_GRANTS, isGatewayGranted, isNumberGranted, validateGrants, type Grants, type GrantsInput, type NumberBlock } from './grants.js';

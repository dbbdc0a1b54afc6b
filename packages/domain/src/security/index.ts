export { classifyAddress, isSpecialAddress, SPECIAL_ADDRESS_CLASSES, type AddressClass } from './addresses.js';
export { NO_GRANTS, isGatewayGranted, isNumberGranted, validateGrants, type Grants, type GrantsInput, type NumberBlock } from './grants.js';
export { DEFAULT_TOLL_LIMITS, TOLL_CLASSES, limitOf, tollClassOf, tollClassOfCall, tollClassesOfPlan, type TollClass, type TollLimits } from './toll-fraud.js';

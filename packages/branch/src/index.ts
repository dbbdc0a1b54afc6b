export { BranchAgent, type BranchAgentOptions, type BranchView } from './agent.js';

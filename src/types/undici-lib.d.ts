// Declarations for the undici files imported directly (src/transport/undici-parts.ts);
// their shapes are undici's public ones.
declare module 'undici/lib/dispatcher/agent.js' {
  import type { Agent } from 'undici';

  const AgentClass: typeof Agent;
  export default AgentClass;
}
declare module 'undici/lib/handler/decorator-handler.js' {
  import type { DecoratorHandler } from 'undici';

  const DecoratorHandlerClass: typeof DecoratorHandler;
  export default DecoratorHandlerClass;
}
declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';

  function request(
    this: Dispatcher,
    options: Dispatcher.RequestOptions,
  ): Promise<Dispatcher.ResponseData>;
  export default request;
}

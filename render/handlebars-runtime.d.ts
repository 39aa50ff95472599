// Handlebars' runtime entry point (no parser or compiler) has no usable type declarations of its
// own; it is the same object as the full package, minus compile().
declare module "handlebars/runtime.js" {
  import Handlebars = require("handlebars");
  const runtime: Pick<typeof Handlebars, "template" | "create" | "registerHelper">;
  export default runtime;
}

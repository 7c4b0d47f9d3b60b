// User stores (resolvers): create, edit, test the connection, delete. Every option of
// every store type comes from GET /resolver/types/ (privacyIDEA's option names, all of
// them: 24 for LDAP); secret options read back as __CENSORED__, and sending that back
// keeps them.

import { resolverPage } from "../resolver-page.js";

export const render = resolverPage({
  path: "/resolver/", types: "/resolver/types/", defaultType: "passwdresolver",
  title: "User stores", noun: "User store", empty: "No user stores yet.",
  addTitle: "Create a user store", saveLabel: (r) => (r ? "Save user store" : "Create user store"),
  testLabel: "Test connection", testBody: (v) => v,
});

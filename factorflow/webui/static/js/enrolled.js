// What an enrolment returns, shown to the person who enrols: QR code, the secret for
// manual entry, registration codes or TAN lists.

import { call } from "./api.js";
import { h, replace } from "./dom.js";
import { apiForm, field } from "./forms.js";
import { facts } from "./ui.js";

/** The base32 secret inside an otpauth:// URI ("" if there is none). */
export function secretOf(uri) {
  try {
    return new URL(uri).searchParams.get("secret") || "";
  } catch {
    return "";
  }
}

function groupsOfFour(text) {
  return text.replace(/(.{4})/g, "$1 ").trim();
}

/** The second step of a ``verify_enrollment`` policy: one code from the new token. */
function verifyStep(detail, type) {
  const status = h("p", { class: "help", role: "status" }, detail.verify?.message
    || "Enter a code from the new token to finish the enrolment.");
  const form = apiForm({
    label: "Verify the new token", submitLabel: "Verify",
    fields: [field({ label: "Code from the new token", param: "verify", required: true,
      attrs: { inputmode: "numeric", autocomplete: "one-time-code" } })],
    action: async (v) => {
      await call("POST", "/token/init", { serial: detail.serial, type, verify: v.verify });
      replace(box, h("p", { class: "notice", role: "status", "data-testid": "enrolment-verified" },
        "Verified: the token is ready to use."));
    },
  });
  const box = h("div", { class: "verify-step" }, status, form);
  return box;
}

export function enrolmentResult(detail, type = "") {
  const google = detail.googleurl;
  const pairs = [["Serial", h("code", { "data-testid": "enrolled-serial" }, detail.serial)]];
  const parts = [];
  if (google?.value) {
    const secret = secretOf(google.value);
    parts.push(h("figure", { class: "qr" },
      h("img", { src: google.img, alt: `QR code to scan with an authenticator app for token ${detail.serial}`, width: 200, height: 200 }),
      h("figcaption", {}, "Scan this with your authenticator app.")));
    pairs.push(["Secret (manual entry)", h("code", { class: "secret", "data-testid": "otp-secret", "data-secret": secret }, groupsOfFour(secret))]);
    pairs.push(["otpauth URI", h("code", { class: "wrap" }, google.value)]);
  }
  if (detail.registrationcode) {
    pairs.push(["Registration code", h("code", { "data-testid": "registration-code" }, detail.registrationcode)]);
  }
  if (detail.otps) {
    parts.push(h("ol", { class: "tan-list", start: Number(Object.keys(detail.otps)[0] || 0) + 1 },
      Object.values(detail.otps).map((otp) => h("li", {}, h("code", {}, otp)))));
  }
  if (detail.pin) pairs.push(["PIN", h("code", {}, detail.pin)]);
  const pending = detail.rollout_state === "verify";
  return h("section", { class: "card enrolled", "aria-labelledby": "enrolled-title" },
    h("h2", { id: "enrolled-title" }, pending ? "Token enrolled: verify it" : "Token enrolled"),
    h("div", { class: "enrolled-body" }, parts, facts(pairs)),
    pending ? verifyStep(detail, type) : null,
    h("p", { class: "help" }, "The secret is shown only now. Keep this page private."));
}

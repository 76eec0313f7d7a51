// The custody rules and the words scans use, as the server serves them (GET /api/v1/vocabulary):
// who may take which action from which state, what each scan must carry, the categories,
// disposal methods and incidents. Kept on the phone so that it works offline; never copied into
// this code, so the phone and the server cannot disagree.

import { api } from "./shared/api.js";

const KEY = "medwaste.vocabulary";
const NONE = { actions: [], categories: [], disposal_methods: [], incidents: [], states: [] };

let cached = null;
let fetching = Promise.resolve();

export function cacheVocabulary() {
  fetching = api("/api/v1/vocabulary")
    .then((body) => {
      localStorage.setItem(KEY, JSON.stringify(body));
      cached = body;
    })
    .catch(() => {
      // offline: keep the last copy
    });
  return fetching;
}

// Settles once the copy asked for at sign-in has arrived (or could not).
export const vocabularyReady = () => fetching;

export function vocabulary() {
  if (!cached) {
    try {
      cached = JSON.parse(localStorage.getItem(KEY) || "null");
    } catch {
      cached = null;
    }
  }
  return cached || NONE;
}

// The actions `role` may take on a container in `state` (any state when it is not known).
export function actionsFor(role, state) {
  return vocabulary()
    .actions.filter((rule) => {
      const states = rule.from_states[role];
      return Boolean(states && states.length) && (!state || states.includes(state));
    })
    .map((rule) => rule.action);
}

// Whether a scan of `action` must carry `field` (weight_kg, method, incident, manifest_id).
export function requires(action, field) {
  const rule = vocabulary().actions.find((r) => r.action === action);
  return Boolean(rule && rule.requires.includes(field));
}

export const weightRequired = (action) => requires(action, "weight_kg");

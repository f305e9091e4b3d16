// Preact and htm, vendored as ES modules (see NOTICE.md): html`<div/>` builds
// Preact elements without a build step.
import { h, render, createContext, Fragment } from "../../vendor/preact-10.29.8/preact.module.js";
import {
  useState,
  useEffect,
  useRef,
  useMemo,
  useCallback,
  useContext,
  useLayoutEffect,
} from "../../vendor/preact-10.29.8/hooks.module.js";
import htm from "../../vendor/htm-3.1.1/htm.module.js";

export const html = htm.bind(h);
export { h, render, createContext, Fragment, useState, useEffect, useRef, useMemo, useCallback, useContext, useLayoutEffect };

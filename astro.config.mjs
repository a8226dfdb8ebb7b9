// @ts-check

import starlight from '@astrojs/starlight';
import { defineConfig } from 'astro/config';

export default defineConfig({
  site: 'http://127.0.0.1:8080',
  integrations: [
    starlight({
      title: 'kubenotes',
    }),
  ],
});

# Production image: compiled JavaScript and production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The npm workspaces (frontend packages): npm ci needs their manifests.
COPY packages/client/package.json packages/client/
COPY packages/element/package.json packages/element/
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 3000
# The heap limit as npm run start:prod sets it (docs/operations.md, "Memory").
CMD ["node", "--max-old-space-size=512", "dist/apps/api/src/main.js"]

/**
 * The local server of `modforge icons serve`: a gallery page of every icon (name, size, winning
 * source; searchable; a click lists every place the icon is stored), the icons themselves through
 * `IconCache.serve()`, and two JSON routes the page uses.
 *
 * Routes: `/` (the page; `?q=` pre-fills the search, `?click=<name>` opens that icon's locations), `/icons/<name>.webp` (the icons),
 * `/api/where/<name>` (the locations of one icon, winner first).
 */
import { createServer, type Server } from 'node:http'

import type { IconCache } from '../src/icons'

/** One gallery tile. */
interface Tile {
  name: string
  width: number
  height: number
  source: string
  url: string
}

/** The tiles of every cached icon, by name. */
function tiles(cache: IconCache): Tile[] {
  const out: Tile[] = []
  for (const name of cache.names()) {
    const icon = cache.getIcon(name)
    const url = cache.iconUrl(name, 'icons')
    if (icon && url) out.push({ name, width: icon.width, height: icon.height, source: icon.source, url })
  }
  return out
}

/** JSON safe to place inside a `<script>` element (no `</script>`, no HTML comment openers). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
}

/** The gallery page: the tiles are embedded and rendered with DOM calls (text, never HTML). */
function page(list: Tile[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>modforge icons (${list.length})</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; background: #f4f4f4; }
  header { position: sticky; top: 0; background: #222; color: #eee; padding: 8px 12px; display: flex; gap: 12px; align-items: center; }
  header input { flex: 1; font-size: 15px; padding: 4px 8px; }
  #grid { display: flex; flex-wrap: wrap; gap: 8px; padding: 12px; }
  figure { margin: 0; width: 150px; background: #fff; border: 1px solid #ccc; padding: 6px; cursor: pointer; }
  figure[hidden] { display: none; }
  figure .pic { height: 72px; display: flex; align-items: center; justify-content: center;
    background: repeating-conic-gradient(#ddd 0 25%, #fff 0 50%) 0 0 / 16px 16px; }
  figure img { max-width: 64px; max-height: 64px; }
  figcaption { font-size: 12px; overflow-wrap: anywhere; }
  figcaption .name { font-weight: 600; }
  #where { position: fixed; right: 12px; bottom: 12px; max-width: 60ch; background: #fff; border: 2px solid #222; padding: 8px; }
  #where[hidden] { display: none; }
  #where table { border-collapse: collapse; font-size: 12px; }
  #where td, #where th { border: 1px solid #ccc; padding: 2px 4px; text-align: left; }
</style>
</head>
<body>
<header><strong>modforge icons</strong><input id="search" type="search" placeholder="search names" autofocus><span id="count"></span></header>
<main id="grid"></main>
<section id="where" hidden><h3 id="where-title"></h3><table><thead><tr><th>winner</th><th>source</th><th>entry</th><th>type</th><th>size</th></tr></thead><tbody id="where-rows"></tbody></table></section>
<script id="tiles" type="application/json">${scriptJson(list)}</script>
<script>
'use strict'
const tiles = JSON.parse(document.getElementById('tiles').textContent)
const grid = document.getElementById('grid')
const search = document.getElementById('search')
const count = document.getElementById('count')
const figures = tiles.map((tile) => {
  const figure = document.createElement('figure')
  figure.dataset.name = tile.name
  const pic = document.createElement('div')
  pic.className = 'pic'
  const img = document.createElement('img')
  img.src = tile.url
  img.alt = tile.name
  img.loading = 'lazy'
  img.addEventListener('load', () => { img.dataset.loaded = img.naturalWidth + 'x' + img.naturalHeight })
  img.addEventListener('error', () => { img.dataset.loaded = 'error' })
  pic.append(img)
  const caption = document.createElement('figcaption')
  const name = document.createElement('div')
  name.className = 'name'
  name.textContent = tile.name
  const size = document.createElement('div')
  size.className = 'size'
  size.textContent = tile.width + 'x' + tile.height
  const source = document.createElement('div')
  source.className = 'source'
  source.textContent = tile.source
  caption.append(name, size, source)
  figure.append(pic, caption)
  figure.addEventListener('click', () => showWhere(tile.name))
  grid.append(figure)
  return figure
})
function filter() {
  const query = search.value.trim().toLowerCase()
  let shown = 0
  for (const figure of figures) {
    const match = query === '' || figure.dataset.name.includes(query)
    figure.hidden = !match
    if (match) shown += 1
  }
  count.textContent = shown + ' of ' + figures.length
  grid.dataset.shown = String(shown)
}
async function showWhere(name) {
  const response = await fetch('/api/where/' + encodeURIComponent(name))
  const locations = await response.json()
  document.getElementById('where-title').textContent = name + ': ' + locations.length + ' place(s)'
  const rows = document.getElementById('where-rows')
  rows.replaceChildren(...locations.map((location) => {
    const row = document.createElement('tr')
    for (const value of [location.winner ? 'yes' : '', location.source, location.entry, location.ext, String(location.size)]) {
      const cell = document.createElement('td')
      cell.textContent = value
      row.append(cell)
    }
    return row
  }))
  document.getElementById('where').hidden = false
}
search.value = new URLSearchParams(location.search).get('q') || ''
search.addEventListener('input', filter)
filter()
// \`?click=<name>\` clicks that tile once loaded (a link that opens the locations panel).
const clicked = new URLSearchParams(location.search).get('click')
const target = clicked && figures.find((figure) => figure.dataset.name === clicked)
if (target) target.click()
</script>
</body>
</html>
`
}

/** Starts the gallery server on `port` (0: any free port) and resolves once it listens. */
export function startGallery(cache: IconCache, port: number, host: string): Promise<Server> {
  const icons = cache.serve({ prefix: 'icons' })
  let html: string | undefined
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      html ??= page(tiles(cache))
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' })
      res.end(req.method === 'HEAD' ? undefined : html)
      return
    }
    if (url.pathname.startsWith('/api/where/')) {
      let locations: unknown
      try {
        locations = cache.whereIs(decodeURIComponent(url.pathname.slice('/api/where/'.length)))
      } catch (error) {
        res.writeHead(400, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }))
        return
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' })
      res.end(JSON.stringify(locations))
      return
    }
    icons(req, res)
  })
  return new Promise((ready, fail) => {
    server.once('error', fail)
    server.listen(port, host, () => {
      server.off('error', fail)
      ready(server)
    })
  })
}

"""A self-contained interactive HTML scatter of 2D points (no CDN, no server, opens offline).

Hovering a point shows its text (and label), and its picture when the points are images
(``thumbnails``: small JPEG data URLs, drawn in place of the dots when there are at most 300);
points are coloured by label with a legend; the search box highlights every point whose text
contains the query and rings their nearest neighbours (computed in the original embedding
space, not in 2D). Data travels as JSON inside the
page, with ``</`` escaped so no text can close the script. This module does not project.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import ParameterError
from ..files import atomic_file

logger = logging.getLogger(__name__)

__all__ = ["scatter_html"]

PALETTE = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#3182bd",
]

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;display:flex;height:100vh}
#side{width:280px;padding:12px;overflow:auto;border-right:1px solid #ddd;font-size:13px}
#main{flex:1;position:relative}canvas{width:100%;height:100%;display:block}
#tip{position:absolute;pointer-events:none;background:#fffffe;border:1px solid #999;
padding:4px 6px;font-size:12px;max-width:360px;display:none;box-shadow:0 1px 4px #0003}
input{width:100%;box-sizing:border-box;padding:5px}.sw{display:inline-block;width:10px;
height:10px;margin-right:6px}li{margin:2px 0;cursor:pointer}ul{padding-left:16px}
</style></head><body>
<div id="side"><h3 style="margin-top:0">__TITLE__</h3>
<input id="q" placeholder="search text..." autocomplete="off">
<div id="count"></div><ul id="hits"></ul><div id="legend"></div></div>
<div id="main"><canvas id="c"></canvas><div id="tip"></div></div>
<script id="data" type="application/json">__DATA__</script>
<script>
const D=JSON.parse(document.getElementById('data').textContent);
const cv=document.getElementById('c'),ctx=cv.getContext('2d'),tip=document.getElementById('tip');
let W=0,H=0,hit=new Set(),ring=new Set();
const xs=D.x,ys=D.y,n=xs.length,pad=20;
const minx=Math.min(...xs),maxx=Math.max(...xs),miny=Math.min(...ys),maxy=Math.max(...ys);
function sx(i){return pad+(xs[i]-minx)/((maxx-minx)||1)*(W-2*pad)}
function sy(i){return H-pad-(ys[i]-miny)/((maxy-miny)||1)*(H-2*pad)}
function colour(i){return D.labels.length?D.palette[D.label_ids[i]%D.palette.length]:'#1f77b4'}
function draw(){const r=devicePixelRatio||1;W=cv.clientWidth;H=cv.clientHeight;cv.width=W*r;
cv.height=H*r;ctx.setTransform(r,0,0,r,0,0);ctx.clearRect(0,0,W,H);const dim=hit.size>0;
for(let i=0;i<n;i++){ctx.globalAlpha=dim&&!hit.has(i)&&!ring.has(i)?0.15:0.8;
ctx.fillStyle=colour(i);ctx.beginPath();ctx.arc(sx(i),sy(i),hit.has(i)?5:3,0,7);ctx.fill();}
ctx.globalAlpha=1;ctx.strokeStyle='#000';for(const i of ring){ctx.beginPath();
ctx.arc(sx(i),sy(i),7,0,7);ctx.stroke();}
if(D.show_thumbs){for(let i=0;i<n;i++){const im=T[i];if(im.complete&&im.naturalWidth){
const s=28/Math.max(im.naturalWidth,im.naturalHeight),w=im.naturalWidth*s,h=im.naturalHeight*s;
ctx.globalAlpha=dim&&!hit.has(i)&&!ring.has(i)?0.2:1;ctx.drawImage(im,sx(i)-w/2,sy(i)-h/2,w,h);
ctx.strokeStyle=colour(i);ctx.strokeRect(sx(i)-w/2,sy(i)-h/2,w,h)}}ctx.globalAlpha=1}
else if(D.show_text){ctx.fillStyle='#222';ctx.font='11px sans-serif';for(let i=0;i<n;i++)
{ctx.fillText(D.text[i].slice(0,24),sx(i)+4,sy(i)-4);}}}
const T=D.thumbs.map(u=>{const im=new Image();im.onload=()=>requestAnimationFrame(draw);
im.src=u;return im});
function esc(s){return s.replace(/[&<>]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]))}
cv.addEventListener('mousemove',e=>{const b=cv.getBoundingClientRect(),mx=e.clientX-b.left,
my=e.clientY-b.top;let best=-1,bd=64;for(let i=0;i<n;i++){const d=(sx(i)-mx)**2+(sy(i)-my)**2;
if(d<bd){bd=d;best=i}}if(best<0){tip.style.display='none';return}
tip.innerHTML=(D.thumbs.length?'<img src="'+D.thumbs[best]+'" style="display:block;'+
'max-width:160px;max-height:160px">':'')+esc(D.text[best])+(D.labels.length?'<br><i>'+esc(D.labels[D.label_ids[best]])+
'</i>':'')+'<br><small>neighbours: '+D.nn[best].map(j=>esc(D.text[j].slice(0,30))).join(' | ')+
'</small>';tip.style.left=(mx+12)+'px';tip.style.top=(my+12)+'px';tip.style.display='block'});
document.getElementById('q').addEventListener('input',e=>{const q=e.target.value.toLowerCase();
hit=new Set();ring=new Set();const ul=document.getElementById('hits');ul.innerHTML='';
if(q){for(let i=0;i<n;i++){if(D.text[i].toLowerCase().includes(q))hit.add(i)}
for(const i of hit){for(const j of D.nn[i]){if(!hit.has(j))ring.add(j)}}
[...hit].slice(0,50).forEach(i=>{const li=document.createElement('li');
li.textContent=D.text[i].slice(0,60);ul.appendChild(li)})}
document.getElementById('count').textContent=q?hit.size+' matches, '+ring.size+
' neighbours ringed':'';draw()});
const lg=document.getElementById('legend');D.labels.forEach((l,i)=>{const d=document.
createElement('div');d.innerHTML='<span class="sw" style="background:'+D.palette[i%
D.palette.length]+'"></span>'+esc(l);lg.appendChild(d)});
addEventListener('resize',draw);draw();
</script></body></html>
"""


def scatter_html(
    points: npt.ArrayLike,
    texts: Sequence[str],
    path: str | os.PathLike[str],
    *,
    labels: Sequence[str] | None = None,
    neighbours: npt.ArrayLike | None = None,
    title: str = "embedlab projection",
    show_text: bool | None = None,
    thumbnails: Sequence[str] | None = None,
) -> Path:
    """Write the page; ``neighbours[i]`` are the rows ringed when row ``i`` matches a search;
    ``thumbnails[i]`` (a ``data:image/...`` URL) is row ``i``'s picture."""
    xy = np.asarray(points, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) != len(texts):
        raise ParameterError(f"points must be ({len(texts)}, 2); got {xy.shape}")
    if labels is not None and len(labels) != len(texts):
        raise ParameterError(f"{len(labels)} labels for {len(texts)} texts")
    if thumbnails is not None and (
        len(thumbnails) != len(texts) or any(not t.startswith("data:image/") for t in thumbnails)
    ):
        raise ParameterError("thumbnails must be one data:image/... URL per point")
    names = sorted({str(x) for x in labels}) if labels is not None else []
    ids = {name: i for i, name in enumerate(names)}
    nn = (
        np.asarray(neighbours, dtype=np.int64) if neighbours is not None else np.zeros((len(xy), 0))
    )
    data = {
        "x": np.round(xy[:, 0], 5).tolist(),
        "y": np.round(xy[:, 1], 5).tolist(),
        "text": [str(t) for t in texts],
        "labels": names,
        "label_ids": [ids[str(x)] for x in labels] if labels is not None else [],
        "nn": nn.astype(int).tolist(),
        "palette": PALETTE,
        "show_text": bool(len(xy) <= 150 if show_text is None else show_text),
        "thumbs": list(thumbnails or []),
        "show_thumbs": bool(thumbnails) and len(xy) <= 300,
    }
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    page = _PAGE.replace("__TITLE__", _escape(title)).replace("__DATA__", payload)
    target = Path(path)
    with atomic_file(target) as f:
        f.write(page.encode("utf-8"))
    return target


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

/**
 * The markup of both baseline pages (raw and PeerJS): status line, local preview, remote video
 * (`data-testid="remote-video"`, where the probe watches for the first frame), Call and Accept.
 * What differs is the title and the scripts: the system's browser bundle, then its page module.
 */
export function baselinePage(page: { title: string; heading: string; scripts: string }): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${page.title}</title>
    <style>
      video {
        width: 320px;
        height: 240px;
        background: #222;
      }
    </style>
  </head>
  <body>
    <h1>${page.heading}</h1>
    <p id="status">starting</p>
    <video id="local" autoplay playsinline muted></video>
    <video data-testid="remote-video" autoplay playsinline></video>
    <p>
      <button id="call" type="button" disabled>Call</button>
      <button id="accept" type="button" disabled>Accept</button>
    </p>
${page.scripts}
  </body>
</html>
`;
}

//! The lesson next to the demo: why the original interceptor looped, the three rules that fix
//! it, and what the comparison switches show. Static text, so it is one HTML string rendered on
//! the server rather than a typed view (which would add to the wasm bundle for nothing).

use leptos::prelude::*;

/// Trusted, constant markup: no user data ever goes in here.
const LESSON: &str = r#"
<summary>Why the original looped, and the three rules that fix it</summary>
<p>The original AngularJS interceptor caught every 401, called refresh and sent the request
again. Three mistakes turned that into a storm and then a loop:</p>
<ol>
<li><strong>Every 401 started its own refresh.</strong> Twenty failing requests made twenty
refresh calls, all presenting the same refresh credential, which the server rotates on every
use.</li>
<li><strong>A shared promise was resolved once, then reused.</strong> Later 401s “waited” on a
refresh that had finished long ago and retried at once.</li>
<li><strong>The new token was never stored.</strong> Every retry carried the old token, got
another 401, and went round again, forever.</li>
</ol>
<p>The auth client in this app follows three rules instead:</p>
<ol>
<li><strong>One refresh at a time.</strong> Every 401 for the same token joins the refresh
already under way (across tabs too, under a Web Lock); a new one starts only for a newer
token.</li>
<li><strong>Store the token, numbered, before waking anyone.</strong> Waiters retry with the new
version; a late 401 for an older version retries with the newer token instead of refreshing
again.</li>
<li><strong>Retry at most once.</strong> A second 401 is final, and a refused refresh signs out:
there is no path back into the loop.</li>
</ol>
<p>Try it: switch on <strong>Naive interceptor</strong> , press <strong>Expire access
token</strong> then <strong>Burst requests</strong> . The waterfall shows one refresh call per
request. The server's grace window answers a replay of the just-rotated credential with the
current one, so the duplicates often get away with it; a call that arrives after two rotations,
or any duplicate once you switch the <strong>Grace window</strong> off, is reuse: the server
revokes the whole session and you are signed out. The naive mode is bounded (one refresh and one
retry per request), so it cannot loop. Switch it off and burst again: one refresh, every request
succeeds, grace window or not.</p>
"#;

#[component]
pub fn Explainer() -> impl IntoView {
    view! { <details class="explainer" open=true inner_html=LESSON></details> }
}

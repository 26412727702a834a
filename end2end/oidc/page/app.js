// The relying party's glue: oidc-client-ts does discovery, PKCE, the code exchange, token
// validation and the refresh-token renewal; this page only wires buttons to it.
const { UserManager, WebStorageStateStore } = oidc;
const authority = new URLSearchParams(location.search).get("authority") ?? sessionStorage.getItem("authority");
sessionStorage.setItem("authority", authority);
const manager = new UserManager({
  authority,
  client_id: "tokenflight-public",
  redirect_uri: `${location.origin}/callback`,
  post_logout_redirect_uri: `${location.origin}/`,
  scope: "openid profile",
  automaticSilentRenew: false,
  userStore: new WebStorageStateStore({ store: sessionStorage }),
});
const show = (id, text) => (document.getElementById(id).textContent = text);

async function render() {
  const user = await manager.getUser();
  show("status", user ? `Signed in as ${user.profile.preferred_username}` : "Signed out");
  show("refresh-token", user?.refresh_token ? user.refresh_token.slice(-12) : "none");
}

document.getElementById("sign-in").onclick = () => manager.signinRedirect();
document.getElementById("call-api").onclick = async () => {
  const user = await manager.getUser();
  const response = await fetch(`${authority}/oauth/userinfo`, {
    headers: { authorization: `Bearer ${user?.access_token}` },
  });
  show("userinfo", response.ok ? (await response.json()).preferred_username : `refused ${response.status}`);
};
document.getElementById("renew").onclick = async () => {
  try {
    await manager.signinSilent(); // with a refresh token: the refresh_token grant
  } catch (error) {
    // A refused refresh (invalid_grant) means the session is over: sign out locally.
    console.log("renewal refused:", error.message);
    await manager.removeUser();
  }
  await render();
};
document.getElementById("sign-out").onclick = () => manager.signoutRedirect();

if (location.pathname === "/callback") {
  manager.signinRedirectCallback().then(() => history.replaceState(null, "", "/")).then(render, (error) => show("status", `Callback failed: ${error.message}`));
} else {
  render();
}

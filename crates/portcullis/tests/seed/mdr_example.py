# The Python example of the MDR source document ("Пример (Python)"),
# kept as published: only the four constants at the top are set from the environment by the
# test (their values are the parts the document says to replace), and the indentation the
# document lost in typesetting is restored. After the published part ends ("headers = …"),
# the continuation at the bottom does what an integration does next: calls a resource with
# the access token and refreshes again with the new refresh token.

###################################################
# Общая часть
###################################################

import os
import time
import datetime
import requests
import jwt

# Сертификат необходим для аутентификации внешнего ресурса.
VERIFY_CERT_PATH = os.environ["VERIFY_CERT_PATH"]

# веб-адрес MDR REST API:
API_URL = os.environ["API_URL"]

# Ваш идентификатор клиента и ваши токены.
CLIENT_ID = os.environ["CLIENT_ID"]
REFRESH_TOKEN = os.environ["REFRESH_TOKEN"]
ACCESS_TOKEN = os.environ.get("ACCESS_TOKEN", "")

###################################################
# Получение токена доступа и токена обновления для следующего обновления токена доступа
###################################################

if REFRESH_TOKEN:
    refresh_token_exp = jwt.decode(REFRESH_TOKEN, options={"verify_signature": False}).get("exp")
    print(f"REFRESH_TOKEN дата и время истечения срока действия: {datetime.datetime.fromtimestamp(refresh_token_exp)}")
    if refresh_token_exp > time.time():
        print("REFRESH_TOKEN действительный")
    else:
        print(
            "Вам нужно обновить REFRESH_TOKEN. Возьмите его из Консоли MDR (https://support.kaspersky.com/MDR/ru-RU/258285.htm). "
        )
        exit()
else:
    print(
        "Вы должны заполнить значение REFRESH_TOKEN. Возьмите его из Консоли MDR (https://support.kaspersky.com/MDR/ru-RU/258285.htm). "
    )
    exit()

# Проверьте наличие и срок действия токена доступа.
need_update_access_token = False
if ACCESS_TOKEN:
    access_token_exp = jwt.decode(ACCESS_TOKEN, options={"verify_signature": False}).get("exp")
    print(f"ACCESS_TOKEN дата и время истечения срока действия: {datetime.datetime.fromtimestamp(access_token_exp)}")
    if access_token_exp > time.time():
        print("ACCESS_TOKEN действительный")
    else:
        need_update_access_token = True
else:
    need_update_access_token = True

# При необходимости обновите токен доступа и токен обновления для следующего обновления токена доступа.
access_token = ACCESS_TOKEN
if need_update_access_token:
    request_body = {"refresh_token": REFRESH_TOKEN}
    result = requests.post(url=f"{API_URL}/{CLIENT_ID}/session/confirm", json=request_body, verify=VERIFY_CERT_PATH)
    result_json = result.json()

    if "error" in result_json:
        print(result_json)
        exit()

    # Необходимо сохранить токен обновления, чтобы получить следующий токен доступа после истечения срока действия текущего токена доступа.
    refresh_token = result_json["refresh_token"]
    print(
        f'!!! Ваш новый REFRESH_TOKEN для следующего запроса ACCESS_TOKEN (замените значение REFRESH_TOKEN значением): "{refresh_token}"'
    )

    # Требуется новый токен доступа для получения данных.
    access_token = result_json["access_token"]
    print(f'!!! Ваш новый ACCESS_TOKEN (замените значение ACCESS_TOKEN значением): "{access_token}"')

# Токен доступа добавлен в заголовок запроса.
headers = {"Authorization": f"Bearer {access_token}"}

###################################################
# Continuation (not in the document): use the token, then refresh again.
###################################################

assets = requests.post(url=f"{API_URL}/{CLIENT_ID}/assets/list", json={"page_size": 10}, headers=headers, verify=VERIFY_CERT_PATH)
assert assets.status_code == 200, assets.text
assert isinstance(assets.json(), list), assets.text
print(f"SEED-ASSETS {len(assets.json())}")

new_refresh_exp = jwt.decode(refresh_token, options={"verify_signature": False}).get("exp")
assert isinstance(new_refresh_exp, int) and new_refresh_exp > time.time()
again = requests.post(url=f"{API_URL}/{CLIENT_ID}/session/confirm", json={"refresh_token": refresh_token}, verify=VERIFY_CERT_PATH)
assert again.status_code == 200, again.text
pair = again.json()
assert set(pair) == {"access_token", "refresh_token"}, pair
assert pair["refresh_token"] != refresh_token
header = jwt.get_unverified_header(pair["access_token"])
assert header["alg"] == "EdDSA" and header["typ"] == "at+jwt" and header["kid"], header
print("SEED-OK")

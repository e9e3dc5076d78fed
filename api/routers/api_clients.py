"""Routes: api_clients. (Filled in by its issue.)"""

from fastapi import APIRouter

router = APIRouter()
